"""English by default; French with the wording of the French EngageLab spec where it has one.

Templates write English and call ``_("...")``: a phrase missing from ``FRENCH`` stays English.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"

FRENCH: dict[str, str] = {
    # layout and navigation
    "Skip to content": "Aller au contenu",
    "Segments": "Segments",
    "Members": "Membres",
    "Fields": "Champs",
    "Sites": "Sites",
    "Sign out": "Se déconnecter",
    "Sign in": "Se connecter",
    "Signed in as": "Connecté en tant que",
    "Language": "Langue",
    "Apply": "Appliquer",
    "Main navigation": "Navigation principale",
    "Page not found": "Page introuvable",
    "Something went wrong on our side; it has been logged.": (
        "Une erreur s'est produite de notre côté ; elle a été journalisée."
    ),
    "The database is unavailable; please try again.": (
        "La base de données est indisponible ; veuillez réessayer."
    ),
    "Back to segments": "Retour aux segments",
    # login
    "Sign in to segmentd": "Connexion à segmentd",
    "Use your API credentials (api_user and api_key).": (
        "Utilisez vos identifiants d'API (api_user et api_key)."
    ),
    "authentication failed": "Échec de l'authentification",
    "Your form expired; please try again.": "Le formulaire a expiré ; veuillez réessayer.",
    # segments list
    "New segment": "Nouveau segment",
    "Search by name": "Recherche par nom",
    "Type": "Type",
    "All types": "Tous les types",
    "by field": "par champ",
    "by campaign": "par campagne",
    "Name": "Nom",
    "Status": "Statut",
    "Last built": "Dernière mise à jour",
    "Search": "Rechercher",
    "No segments yet.": "Aucun segment pour l'instant.",
    "No segment matches.": "Aucun segment ne correspond.",
    "Previous": "Précédent",
    "Next": "Suivant",
    "Showing {first} to {last} of {total}": "{first} à {last} sur {total}",
    "failed": "échec",
    "building": "mise à jour",
    "complete": "mise à jour terminée",
    "segmentation complete": "segmentation terminée",
    "segmentation failed": "échec de la segmentation",
    "segmentation in progress, please do not use this segment to send emails": (
        "segmentation en cours, veuillez ne pas utiliser ce segment pour envoyer des e-mails"
    ),
    "Build progress": "Avancement",
    "Commanders Act id": "Identifiant Commanders Act",
    "never": "jamais",
    # builder
    "Edit segment": "Modifier le segment",
    "Segment name": "Nom du segment",
    "At most 48 characters, none of ^ ? + . * \\ [ ] ( )": (
        "48 caractères maximum, sans ^ ? + . * \\ [ ] ( )"
    ),
    "Segment type": "Type de segment",
    "Conditions": "Conditions",
    "Relation of the conditions": "Relation des conditions",
    "all conditions hold (and)": "toutes les conditions (and)",
    "any condition holds (or)": "au moins une condition (or)",
    "Condition {n}": "Condition {n}",
    "Field": "Champ",
    "Operator": "Opérateur",
    "Value": "Valeur",
    "Campaign": "Campagne",
    "Activity": "Activité",
    "Month": "Mois",
    "Day": "Jour",
    "Add a condition": "Ajouter une condition",
    "Remove condition {n}": "Supprimer la condition {n}",
    "Up to {n} conditions.": "Jusqu'à {n} conditions de filtrage.",
    "Matching members": "Membres correspondants",
    "members match these conditions": "membres correspondent à ces conditions",
    "Fix the conditions to see how many members match.": (
        "Corrigez les conditions pour voir combien de membres correspondent."
    ),
    "Save and build": "Enregistrer et segmenter",
    "Cancel": "Annuler",
    "List": "Liste",
    "System fields": "Champs système",
    "Custom fields": "Champs personnalisés",
    "Tags": "Tags",
    "Tag": "Tag",
    "No tag exists yet.": "Aucun tag pour l'instant.",
    "No campaign exists yet.": "Aucune campagne pour l'instant.",
    "choose": "choisir",
    # segment page
    "Rebuild": "Relancer la segmentation",
    "Edit": "Modifier",
    "Delete": "Supprimer",
    "Delete…": "Supprimer…",
    "Export CSV": "Exporter en CSV",
    "Created": "Créé le",
    "Updated": "Mis à jour le",
    "Filter the members": "Filtrer les membres",
    "Filter": "Filtrer",
    "Clear": "Effacer",
    "Remove selected members": "Retirer les membres sélectionnés",
    "Select": "Sélectionner",
    "Select {email}": "Sélectionner {email}",
    "Email": "E-mail",
    "Phone": "Téléphone",
    "No member.": "Aucun membre.",
    "Removed members stay out of the segment when it is rebuilt.": (
        "Les membres retirés restent hors du segment lors des mises à jour."
    ),
    "Delete the segment {name}?": "Supprimer le segment {name} ?",
    "This cannot be undone.": "Cette action est irréversible.",
    "Delete the segment": "Supprimer le segment",
    "Membership": "Membres du segment",
    "Error": "Erreur",
    "{n} members removed from the segment.": "{n} membres retirés du segment.",
    "Select at least one member.": "Sélectionnez au moins un membre.",
    "The segment is being rebuilt.": "La segmentation est relancée.",
    "The segment cannot be deleted: {reason}": "Le segment ne peut pas être supprimé : {reason}",
    # members and fields
    "All members": "Tous les membres",
    "Format": "Format",
    "Options": "Options",
    "Visible": "Visible",
    "Operators": "Opérateurs",
    "yes": "oui",
    "no": "non",
    "Add a field": "Ajouter un champ",
    "Field name": "Nom du champ",
    "Field type": "Type de champ",
    "text": "texte",
    "number": "nombre",
    "date": "date",
    "birthday": "anniversaire",
    "dropdown": "liste déroulante",
    "time": "horodatage",
    "One option per line (dropdown only)": "Une option par ligne (liste déroulante)",
    "Create the field": "Créer le champ",
    "Field {name} created.": "Champ {name} créé.",
    "Campaigns": "Campagnes",
    # operators and campaign activity, as the builder and the segment page word them
    "Member": "Le membre",
    "Pages": "Pages",
    "equals": "est égal à",
    "does not equal": "est différent de",
    "is greater than": "est supérieur à",
    "is at least": "est au moins",
    "is less than": "est inférieur à",
    "is at most": "est au plus",
    "is on": "est le",
    "is not on": "n'est pas le",
    "is after": "est après le",
    "is on or after": "est le ou après le",
    "is before": "est avant le",
    "is on or before": "est le ou avant le",
    "is": "est",
    "is not": "n'est pas",
    "contains": "contient",
    "does not contain": "ne contient pas",
    "has the tag": "a le tag",
    "does not have the tag": "n'a pas le tag",
    "was sent the campaign": "a reçu la campagne",
    "opened the campaign": "a ouvert la campagne",
    "clicked in the campaign": "a cliqué dans la campagne",
    "was sent the campaign but did not open it": "a reçu la campagne sans l'ouvrir",
    "was sent the campaign but did not click": "a reçu la campagne sans cliquer",
    "was not sent the campaign": "n'a pas reçu la campagne",
    # sites
    "Token": "Jeton",
    "Reveal the token": "Afficher le jeton",
    "Rotate the token…": "Renouveler le jeton…",
    "Rotate the token": "Renouveler le jeton",
    "Paste this into the pages of the site:": "Collez ceci dans les pages du site :",
    "Segments of the site (JSON, needs the token):": (
        "Liste des segments du site (JSON, jeton requis) :"
    ),
    "Allowed origins": "Origines autorisées",
    "any": "toutes",
    "Rotate the token of site {name}?": "Renouveler le jeton du site {name} ?",
    "The old token stops working at once.": "L'ancien jeton cesse de fonctionner immédiatement.",
    "New token": "Nouveau jeton",
}


def translator(lang: str) -> Callable[..., str]:
    """``_("Condition {n}", n=2)``: look the phrase up, then fill its placeholders."""
    table = FRENCH if lang == "fr" else {}

    def translate(phrase: str, **values: object) -> str:
        text = table.get(phrase, phrase)
        return text.format(**values) if values else text

    return translate
