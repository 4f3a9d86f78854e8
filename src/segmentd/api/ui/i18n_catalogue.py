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
    "Change or delete those segments first.": "Modifiez ou supprimez d'abord ces segments.",
    "Create a campaign": "Créer une campagne",
    "Create or rename campaigns": "Créer ou renommer des campagnes",
    "Create the campaign": "Créer la campagne",
    "Delete the {noun} {name}?": "Supprimer le {noun} {name} ?",
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
    "Rename or delete tags": "Renommer ou supprimer des tags",
    "Save": "Enregistrer",
    "Save the field": "Enregistrer le champ",
    "Status of campaign {id}": "Statut de la campagne {id}",
    "Tag {name} deleted.": "Tag {name} supprimé.",
    "Tag {name} saved.": "Tag {name} enregistré.",
    "The first {n} tags by name.": "Les {n} premiers tags par nom.",
    "The newest {n} campaigns.": "Les {n} campagnes les plus récentes.",
    "The tag is taken off every member. This cannot be undone.": (
        "Le tag est retiré de chaque membre. Cette action est irréversible."
    ),
    "The type and format of a field cannot change.": (
        "Le type et le format d'un champ ne peuvent pas changer."
    ),
    "draft": "brouillon",
    "sending": "en cours d'envoi",
    "completed": "terminée",
    "cancelled": "annulée",
    "field": "champ",
    "tag": "tag",
}
