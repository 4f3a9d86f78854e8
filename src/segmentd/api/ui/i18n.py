"""English by default; French with the wording of the French EngageLab spec where it has one.

Templates write English and call ``_("...")``: a phrase missing from ``FRENCH`` stays English.
"""

from __future__ import annotations

from collections.abc import Callable

from .i18n_catalogue import CATALOGUE_FRENCH

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
    # freshness (partials/freshness.html)
    "stuck": "bloqué",
    "Its build keeps losing its worker": "Sa construction perd sans cesse son worker",
    "refresh overdue": "actualisation en retard",
    "Today's refresh has not happened yet": "L'actualisation du jour n'a pas encore eu lieu",
    "built in": "construit en",
    "Last exact": "Dernière mise à jour exacte",
    "Last build took": "Durée de la dernière construction",
    "Build queue": "File de construction",
    "attempt": "tentative",
    "idle": "au repos",
    "queued": "en attente",
    "running": "en cours",
    "retrying": "nouvelle tentative",
    # builder
    "Edit segment": "Modifier le segment",
    "Segment name": "Nom du segment",
    "At most 48 characters, none of ^ ? + . * \\ [ ] ( )": (
        "48 caractères maximum, sans ^ ? + . * \\ [ ] ( )"
    ),
    "Conditions": "Conditions",
    "Relation of the conditions": "Relation des conditions",
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
    # the tree of conditions
    "All conditions": "Toutes les conditions",
    "Group {n}": "Groupe {n}",
    "not": "non",
    "Relation in group {n}": "Relation dans le groupe {n}",
    "all of these hold (and)": "toutes ces conditions (and)",
    "any of these holds (or)": "au moins une de ces conditions (or)",
    "not: negate the group": "non : inverser le groupe",
    "not: negate the condition": "non : inverser la condition",
    "to group {n}": "au groupe {n}",
    "Add a group": "Ajouter un groupe",
    "Remove group {n}": "Supprimer le groupe {n}",
    "Up to {leaves} conditions, {items} in a group; groups and negations nest {depth} deep.": (
        "Jusqu'à {leaves} conditions, {items} par groupe ; groupes et négations imbriqués sur "
        "{depth} niveaux au plus."
    ),
    "In plain words": "En clair",
    "All of these hold:": "Toutes ces conditions sont remplies :",
    "At least one of these holds:": "Au moins une de ces conditions est remplie :",
    "Not all of these hold:": "Ces conditions ne sont pas toutes remplies :",
    "None of these holds:": "Aucune de ces conditions n'est remplie :",
    "Not: {sentence}": "Non : {sentence}",
    "This condition can be changed through the API only:": (
        "Cette condition ne peut être modifiée que par l'API :"
    ),
    # condition rows
    "Condition on": "Condition sur",
    "Other": "Autre",
    "Member status": "Statut du membre",
    "Values": "Valeurs",
    "One value per line": "Une valeur par ligne",
    "Between": "Entre",
    "From": "De",
    "To (included)": "À (inclus)",
    "How many": "Combien",
    "Unit": "Unité",
    "days": "jours",
    "weeks": "semaines",
    "months": "mois",
    "day": "jour",
    "week": "semaine",
    "month": "mois",
    "and": "et",
    "When": "Quand",
    "Segment": "Segment",
    "Tags: any, all or none of": "Tags : l'un, tous ou aucun de",
    "Campaign activity": "Activité d'une campagne",
    "Engagement count": "Nombre de campagnes",
    "Last activity": "Dernière activité",
    "Subscription status": "Statut d'abonnement",
    "Segment membership": "Appartenance à un segment",
    "Condition (JSON)": "Condition (JSON)",
    "How many campaigns": "Combien de campagnes",
    "In the last": "Dans les derniers",
    "Empty: ever": "Vide : depuis toujours",
    "starts with": "commence par",
    "ends with": "finit par",
    "is one of": "est l'une de ces valeurs",
    "is none of": "n'est aucune de ces valeurs",
    "is between": "est entre",
    "is set": "est renseigné",
    "is not set": "n'est pas renseigné",
    "is in the last …": "est dans les derniers …",
    "is more than … ago": "date de plus de …",
    "is in the next …": "est dans les prochains …",
    "is today": "est aujourd'hui",
    "falls in the next … days (any year)": "tombe dans les … prochains jours (chaque année)",
    "falls today (any year)": "tombe aujourd'hui (chaque année)",
    "falls this month (any year)": "tombe ce mois-ci (chaque année)",
    "is in the last {n} {unit}": "est dans les {n} derniers {unit}",
    "is more than {n} {unit} ago": "date de plus de {n} {unit}",
    "is in the next {n} {unit}": "est dans les {n} prochains {unit}",
    "falls in the next {n} days (any year)": "tombe dans les {n} prochains jours (chaque année)",
    "has any of the tags": "a l'un des tags",
    "has all of the tags": "a tous les tags",
    "has none of the tags": "n'a aucun des tags",
    "is subscribed": "est abonné",
    "has unsubscribed": "s'est désabonné",
    "is in the segment": "est dans le segment",
    "is not in the segment": "n'est pas dans le segment",
    "was sent": "a reçu",
    "opened": "a ouvert",
    "clicked in": "a cliqué dans",
    "at least": "au moins",
    "at most": "au plus",
    "exactly": "exactement",
    "more than": "plus de",
    "fewer than": "moins de",
    "campaigns": "campagnes",
    "in the last {period}": "dans les derniers {period}",
    "more than {period} ago": "il y a plus de {period}",
    "Last campaign received": "Dernière campagne reçue",
    "Last open": "Dernière ouverture",
    "Last click": "Dernier clic",
    "Last open or click": "Dernière ouverture ou dernier clic",
    "in the last …": "dans les derniers …",
    "more than … ago": "il y a plus de …",
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
    "Clone": "Dupliquer",
    "Copy of {name}": "Copie de {name}",
    "Segment {name} created.": "Segment {name} créé.",
    "Share of the list": "Part de la liste",
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
    "Subscription": "Abonnement",
    "subscribed": "abonné",
    "unsubscribed": "désabonné",
    "Removed members stay out of the segment when it is rebuilt.": (
        "Les membres retirés restent hors du segment lors des mises à jour."
    ),
    "Delete the segment {name}?": "Supprimer le segment {name} ?",
    "This cannot be undone.": "Cette action est irréversible.",
    "Delete the segment": "Supprimer le segment",
    "Membership": "Membres du segment",
    "No condition: the members of this segment are given, not selected (a static segment).": (
        "Aucune condition : les membres de ce segment sont donnés, non sélectionnés (segment "
        "statique)."
    ),
    "Error": "Erreur",
    "Select at least one member.": "Sélectionnez au moins un membre.",
    "The segment is being rebuilt.": "La segmentation est relancée.",
    "The segment cannot be deleted: {reason}": "Le segment ne peut pas être supprimé : {reason}",
    # static segments
    "New static segment": "Nouveau segment statique",
    "Its members are given by hand, by email or member id, or by a CSV of emails; nothing "
    "selects them.": (
        "Ses membres sont donnés à la main, par e-mail ou identifiant de membre, ou par un CSV "
        "d'e-mails ; aucune condition ne les sélectionne."
    ),
    "First members (optional)": "Premiers membres (facultatif)",
    "One email or member id per line": "Un e-mail ou identifiant de membre par ligne",
    "Create the segment": "Créer le segment",
    "Static segment {name} created.": "Segment statique {name} créé.",
    "Add members": "Ajouter des membres",
    "Emails or member ids": "E-mails ou identifiants de membre",
    "CSV of emails": "CSV d'e-mails",
    "A column headed email, or emails in the first column": (
        "Une colonne intitulée email, ou les e-mails en première colonne"
    ),
    "Upload the CSV": "Envoyer le CSV",
    "Remove selected members…": "Retirer les membres sélectionnés…",
    "Remove members": "Retirer des membres",
    "They stay members of the list; they can be added again.": (
        "Ils restent membres de la liste ; ils peuvent être ajoutés de nouveau."
    ),
    "Remove the members": "Retirer les membres",
    "static": "statique",
    "list {list_id}": "liste {list_id}",
    "Error: {reason}": "Erreur : {reason}",
    # members and fields
    "All members": "Tous les membres",
    "Email or name contains": "L'e-mail ou le nom contient",
    "At most {n} characters.": "{n} caractères au plus.",
    # sites
    "A site is a list as Commanders Act's look-up sees it: its pages ask which segments a "
    "visitor is in.": (
        "Un site est une liste telle que la recherche de Commanders Act la voit : ses pages "
        "demandent dans quels segments est un visiteur."
    ),
    "New site": "Nouveau site",
    "Commanders Act site number (optional)": "Numéro de site Commanders Act (facultatif)",
    "Keep the number your pages already use (site=N); empty: the next free number, up to {n}.": (
        "Gardez le numéro que vos pages utilisent déjà (site=N) ; vide : le prochain numéro "
        "libre, jusqu'à {n}."
    ),
    "Create the site": "Créer le site",
    "Allowed origins (one a line; none: any)": (
        "Origines autorisées (une par ligne ; aucune : toutes)"
    ),
    "Such as https://shop.example (scheme://host[:port]), at most {n}.": (
        "Par exemple https://shop.example (schéma://hôte[:port]), {n} au plus."
    ),
    "Save the origins": "Enregistrer les origines",
    "Copy the snippet": "Copier le code",
    "Copied.": "Copié.",
    "Site {name} created (site={id}).": "Site {name} créé (site={id}).",
    "Allowed origins of {name} saved.": "Origines autorisées de {name} enregistrées.",
    # a member changed by hand
    "Edit {email}": "Modifier {email}",
    "An empty field is cleared. The tags given replace the member's. Another email must be no "
    "other member's in this list.": (
        "Un champ vide est effacé. Les tags donnés remplacent ceux du membre. Un autre e-mail ne "
        "doit être celui d'aucun autre membre de cette liste."
    ),
    "(none)": "(aucune)",
    "Tags (one a line)": "Tags (un par ligne)",
    "Save the member": "Enregistrer le membre",
    "Edit the member": "Modifier le membre",
    "Subscribe again": "Réabonner",
    "Unsubscribe": "Désabonner",
    "Delete the member": "Supprimer le membre",
    "Delete {email}?": "Supprimer {email} ?",
    "The member leaves its segments; its tags and campaign activity are deleted with it. "
    "This cannot be undone.": (
        "Le membre quitte ses segments ; ses tags et son activité de campagne sont supprimés "
        "avec lui. Cette action est irréversible."
    ),
    "Member saved.": "Membre enregistré.",
    "Member subscribed again.": "Membre réabonné.",
    "Member unsubscribed.": "Membre désabonné.",
    "Member {email} deleted.": "Membre {email} supprimé.",
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
    # membership history (segment page, segment changes, member page)
    "Size over time": "Taille dans le temps",
    "Size over the last {n} days": "Taille sur les {n} derniers jours",
    "Nothing is known of the size yet.": "La taille n'est pas encore connue.",
    "From {first} to {last}: between {low} and {top} members.": (
        "Du {first} au {last} : entre {low} et {top} membres."
    ),
    "largest: {top}": "maximum : {top}",
    "Size by day (table)": "Taille par jour (tableau)",
    "Size by day": "Taille par jour",
    "Day (UTC)": "Jour (UTC)",
    "unknown": "inconnue",
    "Entries and exits": "Entrées et sorties",
    "More entries and exits": "Plus d'entrées et de sorties",
    "Change": "Changement",
    "Cause": "Cause",
    "entered": "entré",
    "left": "sorti",
    "member {id} (deleted)": "membre {id} (supprimé)",
    "No change recorded.": "Aucun changement enregistré.",
    "a change to the member": "une modification du membre",
    "a build": "une segmentation",
    "the daily refresh": "l'actualisation quotidienne",
    "removed by hand": "retiré à la main",
    "given or taken back by hand": "ajouté ou retiré à la main",
    "member deleted": "membre supprimé",
    "a segment it refers to changed": "un segment auquel il fait référence a changé",
    "Back to the segment": "Retour au segment",
    "Newest first.": "Les plus récents d'abord.",
    "Newest": "Les plus récents",
    "Older": "Plus anciens",
    "Member id": "Identifiant du membre",
    "No custom field.": "Aucun champ personnalisé.",
    "No tag.": "Aucun tag.",
    "Sent": "Envoyé",
    "Opened": "Ouvert",
    "Clicked": "Cliqué",
    "The latest {n} of {total} campaigns.": "Les {n} dernières des {total} campagnes.",
    "No campaign activity.": "Aucune activité de campagne.",
    "In these segments now": "Dans ces segments actuellement",
    "In no segment now.": "Dans aucun segment actuellement.",
    "Membership history": "Historique d'appartenance",
    # webhooks
    "Webhooks": "Webhooks",
    "Members entering and leaving segments are posted to these URLs, signed (Standard Webhooks).": (
        "Les entrées et sorties des membres des segments sont envoyées à ces URL, signées "
        "(Standard Webhooks)."
    ),
    "Webhook {id} created": "Webhook {id} créé",
    "Its signing secret, shown this once: copy it now.": (
        "Son secret de signature, affiché cette seule fois : copiez-le maintenant."
    ),
    "Subscriptions": "Abonnements",
    "URL": "URL",
    "Events": "Événements",
    "Enabled": "Activé",
    "Last delivery": "Dernier envoi",
    "Actions": "Actions",
    "all segments": "tous les segments",
    "none yet": "aucun pour l'instant",
    "delivered": "envoyé",
    "parked": "en échec",
    "Disable": "Désactiver",
    "Enable": "Activer",
    "Disable webhook {id}": "Désactiver le webhook {id}",
    "Enable webhook {id}": "Activer le webhook {id}",
    "Delete webhook {id}…": "Supprimer le webhook {id}…",
    "No webhook yet.": "Aucun webhook pour l'instant.",
    "Failed deliveries": "Envois en échec",
    "Retried for a day, then parked: later changes of the subscription wait behind them. A "
    "replay posts the same message again.": (
        "Réessayés pendant un jour, puis mis de côté : les changements suivants de l'abonnement "
        "attendent derrière eux. Un renvoi poste de nouveau le même message."
    ),
    "Webhook": "Webhook",
    "Delivery": "Envoi",
    "Changes": "Changements",
    "Tries": "Tentatives",
    "Last answer": "Dernière réponse",
    "Replay": "Renvoyer",
    "Replay delivery {id}": "Renvoyer l'envoi {id}",
    "New webhook": "Nouveau webhook",
    "At most {n} webhooks; a new one receives the changes made after it.": (
        "{n} webhooks au plus ; un nouveau reçoit les changements faits après sa création."
    ),
    "http:// or https://, at most {n} characters; private addresses only if the server "
    "allows them": (
        "http:// ou https://, {n} caractères au plus ; adresses privées seulement si le "
        "serveur les autorise"
    ),
    "Create the webhook": "Créer le webhook",
    "Delete the webhook": "Supprimer le webhook",
    "Delete webhook {id}?": "Supprimer le webhook {id} ?",
    "Its deliveries, sent or waiting, are deleted with it. This cannot be undone.": (
        "Ses envois, faits ou en attente, sont supprimés avec lui. Cette action est irréversible."
    ),
    "Webhook {id} enabled.": "Webhook {id} activé.",
    "Webhook {id} disabled: its deliveries wait.": (
        "Webhook {id} désactivé : ses envois attendent."
    ),
    "Webhook {id} deleted.": "Webhook {id} supprimé.",
    "Delivery {id} queued again.": "Envoi {id} remis en file.",
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


# Phrases that count something ``{n}``: their (one, many) forms by language. The phrase
# itself is the English "many" form, as templates and flash messages write it.
PLURALS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "{n} members removed from the segment.": (
            "{n} member removed from the segment.",
            "{n} members removed from the segment.",
        ),
        "{n} members added to the segment.": (
            "{n} member added to the segment.",
            "{n} members added to the segment.",
        ),
        "{n} members were in the segment already.": (
            "{n} member was in the segment already.",
            "{n} members were in the segment already.",
        ),
        "{n} members were not in the segment.": (
            "{n} member was not in the segment.",
            "{n} members were not in the segment.",
        ),
        "{n} emails name no member of the list: {sample}": (
            "{n} email names no member of the list: {sample}",
            "{n} emails name no member of the list: {sample}",
        ),
        "Remove {n} members from the segment {name}?": (
            "Remove {n} member from the segment {name}?",
            "Remove {n} members from the segment {name}?",
        ),
    },
    "fr": {
        "{n} members removed from the segment.": (
            "{n} membre retiré du segment.",
            "{n} membres retirés du segment.",
        ),
        "{n} members added to the segment.": (
            "{n} membre ajouté au segment.",
            "{n} membres ajoutés au segment.",
        ),
        "{n} members were in the segment already.": (
            "{n} membre était déjà dans le segment.",
            "{n} membres étaient déjà dans le segment.",
        ),
        "{n} members were not in the segment.": (
            "{n} membre n'était pas dans le segment.",
            "{n} membres n'étaient pas dans le segment.",
        ),
        "{n} emails name no member of the list: {sample}": (
            "{n} e-mail ne désigne aucun membre de la liste : {sample}",
            "{n} e-mails ne désignent aucun membre de la liste : {sample}",
        ),
        "Remove {n} members from the segment {name}?": (
            "Retirer {n} membre du segment {name} ?",
            "Retirer {n} membres du segment {name} ?",
        ),
    },
}


FRENCH.update(CATALOGUE_FRENCH)


def _is_one(lang: str, n: object) -> bool:
    """The singular's numbers: 1 in English; 0 and 1 in French."""
    return n == 1 or (lang == "fr" and n == 0)


def translator(lang: str) -> Callable[..., str]:
    """``_("Condition {n}", n=2)``: look the phrase up (its singular or plural form when it
    counts ``n``), then fill its placeholders."""
    table = FRENCH if lang == "fr" else {}
    plurals = PLURALS.get(lang, {})

    def translate(phrase: str, **values: object) -> str:
        forms = plurals.get(phrase)
        if forms is not None and "n" in values:
            text = forms[0] if _is_one(lang, values["n"]) else forms[1]
        else:
            text = table.get(phrase, phrase)
        return text.format(**values) if values else text

    return translate
