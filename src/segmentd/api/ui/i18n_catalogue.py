"""French for the catalogue's pages (fields, tags, campaigns) and the imports' pages; ``i18n``
adds it to its table (kept apart so those pages' phrases sit together)."""

from __future__ import annotations

CATALOGUE_FRENCH: dict[str, str] = {
    # catalogue
    "A campaign's status moves forward only: draft, then sending, then completed or cancelled.": (
        "Le statut d'une campagne ne fait qu'avancer : brouillon, puis en cours d'envoi, "
        "puis terminée ou annulée."
    ),
    "Campaign name": "Nom de la campagne",
    "Campaign {name} created.": "Campagne {name} créée.",
    "Campaign {name} saved.": "Campagne {name} enregistrée.",
    "Campaign {name} deleted.": "Campagne {name} supprimée.",
    "Change or delete those segments first.": "Modifiez ou supprimez d'abord ces segments.",
    "Create a campaign": "Créer une campagne",
    "Create, rename or delete campaigns": "Créer, renommer ou supprimer des campagnes",
    "Create the campaign": "Créer la campagne",
    "Delete the {noun} {name}?": "Supprimer le {noun} {name} ?",
    "Delete the campaign {name}?": "Supprimer la campagne {name} ?",
    "Every member's sends, opens and clicks of this campaign are deleted with it; segments "
    "counting activity across campaigns are rebuilt without them. This cannot be undone.": (
        "Les envois, ouvertures et clics de cette campagne sont supprimés chez chaque membre ; "
        "les segments qui comptent l'activité de toutes les campagnes sont recalculés sans eux. "
        "Cette action est irréversible."
    ),
    "Edit the field {name}": "Modifier le champ {name}",
    "Every member's value of this field is deleted with it. This cannot be undone.": (
        "La valeur de ce champ est supprimée chez chaque membre. Cette action est irréversible."
    ),
    "Field {name} deleted.": "Champ {name} supprimé.",
    "Field {name} saved.": "Champ {name} enregistré.",
    "Members create tags by name (an import, the API or a member's page). Segments name a tag "
    "by its id, so a renamed tag keeps its segments.": (
        "Les tags naissent par leur nom (un import, l'API ou la page d'un membre). Les segments "
        "désignent un tag par son identifiant : un tag renommé garde ses segments."
    ),
    "Name and status": "Nom et statut",
    "Name of campaign {id}": "Nom de la campagne {id}",
    "New name of {name}": "Nouveau nom de {name}",
    "One option per line. Members holding a dropped option lose their value; an option a "
    "segment tests cannot be dropped.": (
        "Une option par ligne. Les membres ayant une option retirée perdent leur valeur ; une "
        "option testée par un segment ne peut pas être retirée."
    ),
    "Rename": "Renommer",
    "Create, rename or delete tags": "Créer, renommer ou supprimer des tags",
    "Save": "Enregistrer",
    "Save the field": "Enregistrer le champ",
    "Status of campaign {id}": "Statut de la campagne {id}",
    "Tag {name} deleted.": "Tag {name} supprimé.",
    "Tag {name} saved.": "Tag {name} enregistré.",
    "Tag {name} created.": "Tag {name} créé.",
    "New tag": "Nouveau tag",
    "Create the tag": "Créer le tag",
    "A tag on no member yet: segments can test it before members get it.": (
        "Un tag qu'aucun membre ne porte encore : les segments peuvent le tester avant."
    ),
    "The first {n} tags by name.": "Les {n} premiers tags par nom.",
    "The newest {n} campaigns.": "Les {n} campagnes les plus récentes.",
    "The tag is taken off every member. This cannot be undone.": (
        "Le tag est retiré de chaque membre. Cette action est irréversible."
    ),
    "Try again once the import is done.": "Réessayez une fois l'import terminé.",
    "The type and format of a field cannot change.": (
        "Le type et le format d'un champ ne peuvent pas changer."
    ),
    "draft": "brouillon",
    "sending": "en cours d'envoi",
    "completed": "terminée",
    "cancelled": "annulée",
    "field": "champ",
    "tag": "tag",
    # imports
    "Imports": "Imports",
    "Import members": "Importer des membres",
    "1. Upload a CSV file": "1. Envoyer un fichier CSV",
    "2. Map the columns": "2. Associer les colonnes",
    "Map the columns": "Associer les colonnes",
    "CSV file (UTF-8, its first row a header)": (
        "Fichier CSV (UTF-8, sa première ligne est l'en-tête)"
    ),
    "Choose a CSV file.": "Choisissez un fichier CSV.",
    "Upload and map the columns": "Envoyer et associer les colonnes",
    "The limits are the import API's:": "Les limites sont celles de l'API d'import :",
    "at most {n} columns, each name at most {chars} characters;": (
        "au plus {n} colonnes, chaque nom d'au plus {chars} caractères ;"
    ),
    "the first {mib} MiB must be UTF-8;": "le premier {mib} Mio doit être en UTF-8 ;",
    "a row longer than {bytes} bytes, a cell longer than {chars} characters or more than "
    "{tags} tags for a member is rejected alone, with its row number, while the other rows "
    "are imported;": (
        "une ligne de plus de {bytes} octets, une cellule de plus de {chars} caractères ou plus "
        "de {tags} tags pour un membre est rejetée seule, avec son numéro de ligne, et les "
        "autres lignes sont importées ;"
    ),
    "the job shows the first 100 rejected rows; the rejects file holds them all.": (
        "la tâche montre les 100 premières lignes rejetées ; le fichier des rejets les "
        "contient toutes."
    ),
    "Each column is suggested by its name. A skipped column is not imported; one column must "
    "be the email.": (
        "Chaque colonne est proposée d'après son nom. Une colonne ignorée n'est pas importée ; "
        "une colonne doit être l'e-mail."
    ),
    "(skipped)": "(ignorée)",
    "Column": "Colonne",
    "Columns": "Colonnes",
    "Imported as": "Importée comme",
    "Tags in the file": "Tags du fichier",
    "Add them to a member's tags": "Les ajouter aux tags du membre",
    "Replace a member's tags with them": "Remplacer les tags du membre",
    "Keep a member's tags as they are": "Garder les tags du membre tels quels",
    "Update members already on the list": "Mettre à jour les membres déjà dans la liste",
    "Start the import": "Lancer l'import",
    "Import {id}": "Import {id}",
    "Import another file": "Importer un autre fichier",
    "Progress": "Avancement",
    "Waiting": "En attente",
    "Running": "En cours",
    "Finished": "Terminé",
    "Failed": "Échoué",
    "Rows read": "Lignes lues",
    "Members created": "Membres créés",
    "Members updated": "Membres mis à jour",
    "Rows skipped": "Lignes ignorées",
    "Rows rejected": "Lignes rejetées",
    "Rejected rows": "Lignes rejetées",
    "Row": "Ligne",
    "Reason": "Motif",
    "Download the rejected rows (CSV)": "Télécharger les lignes rejetées (CSV)",
}
