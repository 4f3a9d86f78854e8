"""French for the refusals the services raise (``domain.errors``): the UI shows them in the
page's language, the APIs keep their own words.

A refusal's message is an English template filled in (``campaign {} is used by segments:
{}``). ``french_refusal`` finds the template a message was made from and fills the French one
with the same values: ``{0}`` is the first value as it was, ``{0:t}`` the first value itself
translated (a status, or another refusal's message nested in this one). A message no template
matches stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

REFUSALS_FRENCH: dict[str, str] = {
    # conditions and segments
    "a condition holds at most {} leaves": "une condition compte au plus {0} critères",
    "a condition is a leaf with a kind, or an object of one key: all, any or not": (
        "une condition est un critère avec un type, ou un objet d'une seule clé : all, any ou not"
    ),
    "a condition must be an object": "une condition doit être un objet",
    "a group must be an object with relation and items": (
        "un groupe doit être un objet avec relation et items"
    ),
    "activity must be one of {}": "l'activité doit être l'une de : {0}",
    "amount must be a whole number from 1 to {} {}": (
        "la durée doit être un nombre entier de 1 à {0} {1:t}"
    ),
    "amount must be a whole number from {} to {} {}": (
        "la durée doit être un nombre entier de {0} à {1} {2:t}"
    ),
    "at most {} conditions are supported": "au plus {0} conditions sont acceptées",
    "campaign {} does not exist": "la campagne {0} n'existe pas",
    "campaign {} is {}: it must be sending or completed": (
        "la campagne {0} est {1:t} : elle doit être en cours d'envoi ou terminée"
    ),
    "campaign_id is required when field_name is campaign": (
        "choisissez une campagne pour un critère de campagne"
    ),
    "choose entered, left or both": "choisissez entré, sorti ou les deux",
    "commandersact_id must be 8 hexadecimal characters": (
        "l'identifiant Commanders Act doit compter 8 caractères hexadécimaux"
    ),
    "commandersact_id {} is taken by another segment": (
        "l'identifiant Commanders Act {0} est déjà pris par un autre segment"
    ),
    "condition is required": "la condition est obligatoire",
    "condition must be an object with relation and items": (
        "la condition doit être un objet avec relation et items"
    ),
    "count must be a whole number from 0 to {}": "le nombre doit être un entier de 0 à {0}",
    "count_op must be one of {}": "la comparaison doit être l'une de : {0}",
    "each condition must be an object": "chaque condition doit être un objet",
    "each value must be a string": "chaque valeur doit être une chaîne",
    "field {} does not exist": "le champ {0} n'existe pas",
    "field_name campaign needs a segment of type 1 (by campaign)": (
        "un critère de campagne demande un segment de type 1 (par campagne)"
    ),
    "field_name is required": "le champ est obligatoire",
    "field_name must be campaign when type is 1 (by campaign)": (
        "un segment de type 1 (par campagne) ne teste que des campagnes"
    ),
    "groups and not nest at most {} deep": (
        "les groupes et les négations s'imbriquent sur au plus {0} niveaux"
    ),
    "groups nest at most {} deep": "les groupes s'imbriquent sur au plus {0} niveaux",
    "items must hold 1 to {} conditions": "un groupe contient de 1 à {0} conditions",
    "kind must be one of {}": "le type de critère doit être l'un de : {0}",
    "kind must name a condition type": "le type de critère doit nommer un type de condition",
    "list {} does not exist": "la liste {0} n'existe pas",
    "list_id must be an integer from 1 to {}": (
        "l'identifiant de liste doit être un entier de 1 à {0}"
    ),
    "op for field {} must be one of {}": ("l'opérateur du champ {0} doit être l'un de : {1}"),
    "op for tag must be one of {}": "l'opérateur d'un tag doit être l'un de : {0}",
    "op must be == when field_name is campaign": (
        "l'opérateur d'un critère de campagne doit être =="
    ),
    "op must be one of {}": "l'opérateur doit être l'un de : {0}",
    "op never takes no {}": "l'opérateur « never » ne prend pas de {0}",
    "references may not form a cycle: {}": "les références ne peuvent pas former un cycle : {0}",
    "references nest at most {} deep ({} here): {}": (
        "les références s'imbriquent sur au plus {0} niveaux ({1} ici) : {2}"
    ),
    "relation only be and or or": "la relation ne peut être que and ou or",
    "segment name {} is taken by segment {}": (
        "le nom de segment {0} est déjà pris par le segment {1}"
    ),
    "segment {} does not exist": "le segment {0} n'existe pas",
    "segment {} is dynamic: its members are those its condition selects": (
        "le segment {0} est dynamique : ses membres sont ceux que sa condition sélectionne"
    ),
    "segment {} is on list {}: a condition refers only to segments of its own list ({})": (
        "le segment {0} est sur la liste {1} : une condition ne désigne que des segments de sa "
        "propre liste ({2})"
    ),
    "segment {} is static: it has no condition to copy": (
        "le segment {0} est statique : il n'a pas de condition à copier"
    ),
    "segment {} is static: its members are given, not a condition": (
        "le segment {0} est statique : ses membres sont donnés, pas choisis par une condition"
    ),
    "segment {} is used by segments: {}": "le segment {0} est utilisé par les segments : {1}",
    "segment_name cannot hold control characters": (
        "le nom du segment ne peut pas contenir de caractères de contrôle"
    ),
    "segment_name is required": "le nom du segment est obligatoire",
    "segment_name must be a string": "le nom du segment doit être une chaîne",
    "segment_name must be at most {} characters": (
        "le nom du segment compte au plus {0} caractères"
    ),
    "special characters such as ^, ?, +, ., *, \\, [, ], (, ) cannot be used": (
        "les caractères spéciaux comme ^, ?, +, ., *, \\, [, ], (, ) ne sont pas admis"
    ),
    "tag {} does not exist": "le tag {0} n'existe pas",
    "tag {} is listed twice": "le tag {0} figure deux fois",
    "tags must be a list of 1 to {} tags": "les tags doivent être une liste de 1 à {0} tags",
    "the stored condition is not JSON": "la condition enregistrée n'est pas du JSON",
    "the stored condition is not version {}": (
        "la condition enregistrée n'est pas de la version {0}"
    ),
    "type is required": "le type est obligatoire",
    "type only be 0 (by field) or 1 (by campaign)": (
        "le type ne peut être que 0 (par champ) ou 1 (par campagne)"
    ),
    "unit must be one of {}": "l'unité doit être l'une de : {0}",
    "value is required and must be a string": "la valeur est obligatoire et doit être une chaîne",
    "value must be a string": "la valeur doit être une chaîne",
    "value must be one of {}": "la valeur doit être l'une de : {0}",
    "values must be [low, high] with low <= high": (
        "les valeurs doivent être [bas, haut] avec bas <= haut"
    ),
    "values must be [low, high]: two strings": (
        "les valeurs doivent être [bas, haut] : deux chaînes"
    ),
    "values must be a list of 1 to {} strings": (
        "les valeurs doivent être une liste de 1 à {0} chaînes"
    ),
    "within must be null or an object with amount and unit": (
        "la période doit être vide ou un objet avec amount et unit"
    ),
    "{} must be a list of at most {} entries": "{0} doit être une liste d'au plus {1} éléments",
    "{} must be an id": "{0} doit être un identifiant",
    "{} must hold 1 to {} conditions": "{0} contient de 1 à {1} conditions",
    "{} names no member of list {}": "{0} ne désigne aucun membre de la liste {1}",
    # fields, tags and campaigns
    "a dropdown needs 1 to {} options": "une liste déroulante demande de 1 à {0} options",
    "a field named {} already exists": "un champ nommé {0} existe déjà",
    "a tag name is a non-blank string of at most {} characters": (
        "le nom d'un tag est une chaîne non vide d'au plus {0} caractères"
    ),
    "a tag named {} already exists": "un tag nommé {0} existe déjà",
    "a {} campaign cannot become {}": "une campagne {0:t} ne peut pas devenir {1:t}",
    "at most {} fields, counting Email, Name and Phone ({} custom fields)": (
        "au plus {0} champs, Email, Name et Phone compris ({1} champs personnalisés)"
    ),
    "campaign {} has an import of events under way: delete it once done": (
        "la campagne {0} a un import d'événements en cours : supprimez-la une fois celui-ci terminé"
    ),
    "campaign {} is used by segments: {}": ("la campagne {0} est utilisée par les segments : {1}"),
    "campaign_name is a non-blank string of at most {} characters": (
        "le nom de la campagne est une chaîne non vide d'au plus {0} caractères"
    ),
    "each option is a string of 1 to {} characters": (
        "chaque option est une chaîne de 1 à {0} caractères"
    ),
    "field {} is used by segments: {}": "le champ {0} est utilisé par les segments : {1}",
    "field_name must be 1 to 64 characters of letters, digits and _": (
        "le nom du champ compte de 1 à 64 lettres, chiffres et _"
    ),
    "field_type only be 0 (text), 1 (number), 2 (date), 3 (birthday) or 4 (dropdown)": (
        "le type de champ ne peut être que 0 (texte), 1 (nombre), 2 (date), 3 (anniversaire) "
        "ou 4 (liste déroulante)"
    ),
    "format applies only to number, date and birthday fields": (
        "le format ne s'applique qu'aux champs nombre, date et anniversaire"
    ),
    "format must be one of {}": "le format doit être l'un de : {0}",
    "options apply only to dropdown fields": (
        "les options ne s'appliquent qu'aux listes déroulantes"
    ),
    "options must not repeat": "les options ne doivent pas se répéter",
    "options {} are used by segments: {}": "les options {0} sont utilisées par les segments : {1}",
    "status must be one of {}": "le statut doit être l'un de : {0}",
    "tag {} is used by segments: {}": "le tag {0} est utilisé par les segments : {1}",
    "the campaign is a draft: set it sending or completed before its events": (
        "la campagne est un brouillon : passez-la en cours d'envoi ou terminée avant ses événements"
    ),
    "the format of a field cannot change": "le format d'un champ ne peut pas changer",
    "the type of a field cannot change": "le type d'un champ ne peut pas changer",
    "visible must be true or false": "visible doit valoir true ou false",
    "{} is a system field name": "{0} est le nom d'un champ système",
    # members
    "a member has at most {} tags": "un membre a au plus {0} tags",
    "{} is the email of member {} of this list": ("{0} est l'e-mail du membre {1} de cette liste"),
    "a member id is an integer from 1 to {}, or a string of its digits": (
        "un identifiant de membre est un entier de 1 à {0}, ou la chaîne de ses chiffres"
    ),
    "an email must be a non-empty string": "un e-mail doit être une chaîne non vide",
    "domain labels are letters, digits and -, not starting or ending with -, at most 63": (
        "les parties du domaine sont des lettres, chiffres et -, sans - au début ni à la fin, "
        "63 au plus"
    ),
    "each member must be an object": "chaque membre doit être un objet",
    "email is required": "l'e-mail est obligatoire",
    "email must be {} to {} characters": "l'e-mail compte de {0} à {1} caractères",
    "email must have the form local@domain": "l'e-mail doit avoir la forme local@domaine",
    "event must be one of {}": "l'événement doit être l'un de : {0}",
    "field {}: the value must be a string": "champ {0} : la valeur doit être une chaîne",
    "field {}: the value must not contain NUL characters": (
        "champ {0} : la valeur ne doit pas contenir de caractère NUL"
    ),
    "field {}: {}": "champ {0} : {1:t}",
    "fields must be an object of field name to value": (
        "les champs doivent être un objet associant un nom de champ à une valeur"
    ),
    "give at least one email or member id": (
        "donnez au moins un e-mail ou un identifiant de membre"
    ),
    "member ids must be strings": "les identifiants de membre doivent être des chaînes",
    "member_ids is required": "les identifiants de membre sont obligatoires",
    "member_ids must be a list of 1 to {} ids": (
        "les identifiants de membre doivent être une liste de 1 à {0} identifiants"
    ),
    "system times cannot be set": "les dates système ne peuvent pas être modifiées",
    "tags must be a list of tag names": "les tags doivent être une liste de noms de tags",
    "tcid must be 1 to {} digits": "le tcid compte de 1 à {0} chiffres",
    "tcid {} belongs to another member": "le tcid {0} appartient à un autre membre",
    "the domain must have a top-level domain": "le domaine doit avoir un domaine de premier niveau",
    "the part before @ has characters an email address cannot hold": (
        "la partie avant @ contient des caractères qu'une adresse e-mail ne peut pas contenir"
    ),
    "the part before @ must be at most {} characters": (
        "la partie avant @ compte au plus {0} caractères"
    ),
    "the same {} is at index {} of this request": (
        "le même {0} figure à l'index {1} de cette requête"
    ),
    "the top-level domain must be 2 to 20 letters": (
        "le domaine de premier niveau compte de 2 à 20 lettres"
    ),
    "unknown key {}: a member has {}": "clé inconnue {0} : un membre a {1}",
    "{} has more than {} significant digits: it cannot be stored exactly": (
        "{0} a plus de {1} chiffres significatifs : il ne peut pas être enregistré exactement"
    ),
    "{} is not a birthday in the format {}": "{0} n'est pas un anniversaire au format {1}",
    "{} is not a date in the format {}": "{0} n'est pas une date au format {1}",
    "{} is not a day in the format YYYY-MM-DD": "{0} n'est pas un jour au format AAAA-MM-JJ",
    "{} is not a finite number": "{0} n'est pas un nombre fini",
    "{} is not a number": "{0} n'est pas un nombre",
    "{} is not a valid birthday in the format {}": (
        "{0} n'est pas un anniversaire valide au format {1}"
    ),
    "{} is not a valid date in the format {}": "{0} n'est pas une date valide au format {1}",
    "{} is not a valid day": "{0} n'est pas un jour valide",
    "{} is out of range (1e-307 to 1e308 in magnitude)": (
        "{0} est hors limites (de 1e-307 à 1e308 en valeur absolue)"
    ),
    "{} must be a string of at most {} characters": (
        "{0} doit être une chaîne d'au plus {1} caractères"
    ),
    "{} must be at most {} characters": "{0} compte au plus {1} caractères",
    "{} must be one of the options {}": "{0} doit être l'une des options {1}",
    "{} must not contain NUL characters": "{0} ne doit pas contenir de caractère NUL",
    "{}; the tags cell names {}": "{0:t} ; la cellule des tags nomme {1}",
    "{}; with the earlier rows of this email it would have more": (
        "{0:t} ; avec les lignes précédentes de cet e-mail, il en aurait davantage"
    ),
    # CSV files of emails and imports
    "choose a CSV file of emails": "choisissez un fichier CSV d'e-mails",
    "the CSV cannot be read: {}": "le CSV ne peut pas être lu : {0}",
    "the CSV holds no email": "le CSV ne contient aucun e-mail",
    "the CSV must be UTF-8": "le CSV doit être en UTF-8",
    "the CSV must be at most {} bytes": "le CSV pèse au plus {0} octets",
    "the CSV must hold at most {} emails": "le CSV contient au plus {0} e-mails",
    "the CSV must not contain the NUL character": "le CSV ne doit pas contenir le caractère NUL",
    "the CSV needs a column headed {}, or addresses in its first column": (
        "le CSV doit avoir une colonne intitulée {0}, ou les adresses dans sa première colonne"
    ),
    "the row has {} cells but the header only {}": (
        "la ligne a {0} cellules mais l'en-tête seulement {1}"
    ),
    # CSV files of members and events (the command line's words where it has options)
    "--map names a column {} the file does not have": (
        "--map nomme une colonne {0} que le fichier n'a pas"
    ),
    "--map {} must have the form Column=Field": "--map {0} doit avoir la forme Colonne=Champ",
    "--map {} {}": "--map {0} {1:t}",
    "at most {} --map options (one per column)": "au plus {0} options --map (une par colonne)",
    "checking rows failed: {}: {}": "la vérification des lignes a échoué : {0} : {1}",
    "column {} appears twice": "la colonne {0} figure deux fois",
    "column {} maps to {} like an earlier one": (
        "la colonne {0} correspond à {1} comme une colonne précédente"
    ),
    "column {} of the header is longer than {} characters": (
        "la colonne {0} de l'en-tête dépasse {1} caractères"
    ),
    "import job {} of this file is running in another process": (
        "l'import {0} de ce fichier tourne dans un autre processus"
    ),
    "no such file: {}": "fichier introuvable : {0}",
    "tag_flag must be 0 (overwrite), 1 (append) or 2 (keep existing)": (
        "le traitement des tags doit valoir 0 (remplacer), 1 (ajouter) ou 2 (garder l'existant)"
    ),
    "the file is empty: the first line must be a header": (
        "le fichier est vide : la première ligne doit être un en-tête"
    ),
    'the file is not UTF-8 (byte 0x{} on line {}): save it as UTF-8 ("CSV UTF-8") and import '
    "it again": (
        "le fichier n'est pas en UTF-8 (octet 0x{0} à la ligne {1}) : enregistrez-le en UTF-8 "
        "(« CSV UTF-8 ») et importez-le de nouveau"
    ),
    "the file {} changed since the import started": (
        "le fichier {0} a changé depuis le début de l'import"
    ),
    "the file {} is gone": "le fichier {0} a disparu",
    "the header cannot be read: {}": "l'en-tête ne peut pas être lu : {0:t}",
    "the header has {} columns: at most {}": "l'en-tête a {0} colonnes : au plus {1}",
    "the header must have an email column": "l'en-tête doit avoir une colonne email",
    "the header must have an email or a member_id column": (
        "l'en-tête doit avoir une colonne email ou member_id"
    ),
    "the header must have an event column": "l'en-tête doit avoir une colonne event",
    "the process checking rows died (exit {})": (
        "le processus qui vérifie les lignes s'est arrêté (code {0})"
    ),
    "unknown columns: {} (events have {}; pass --ignore-unknown to skip them)": (
        "colonnes inconnues : {0} (les événements ont {1} ; passez --ignore-unknown pour les "
        "ignorer)"
    ),
    "unknown columns: {} (not email, name, phone, tcid, tags or a custom field; map them with "
    "--map Column=Field or pass --ignore-unknown)": (
        "colonnes inconnues : {0} (ni email, name, phone, tcid, tags ni un champ personnalisé ; "
        "associez-les avec --map Colonne=Champ ou passez --ignore-unknown)"
    ),
    "{} {} does not exist": "{0:t} {1} n'existe pas",
    # text anywhere
    "at most {} characters": "au plus {0} caractères",
    "must be at most {} characters": "compte au plus {0} caractères",
    "must not be blank": "ne doit pas être vide",
    "must not contain a lone surrogate (\\ud800 to \\udfff): it is not valid Unicode": (
        "ne doit pas contenir de demi-codet isolé (\\ud800 à \\udfff) : ce n'est pas de "
        "l'Unicode valide"
    ),
    "must not contain control characters": "ne doit pas contenir de caractères de contrôle",
    "must not contain the NUL character (\\u0000)": (
        "ne doit pas contenir le caractère NUL (\\u0000)"
    ),
    # sites and webhooks
    "a site number is 1 to {}": "un numéro de site va de 1 à {0}",
    "a site number is a whole number": "un numéro de site est un nombre entier",
    "a tenant has at most {} webhooks": "un compte a au plus {0} webhooks",
    "at most {} origins": "au plus {0} origines",
    "has an invalid port": "a un port invalide",
    "is not a valid URL": "n'est pas une URL valide",
    "must be an http:// or https:// URL with a host": (
        "doit être une URL http:// ou https:// avec un hôte"
    ),
    "must be printable ASCII, without spaces": "doit être de l'ASCII imprimable, sans espace",
    "must not carry a user name or password": (
        "ne doit contenir ni nom d'utilisateur ni mot de passe"
    ),
    "site {} is taken": "le site {0} est déjà pris",
    "webhooks are not posted to Unix sockets": (
        "les webhooks ne sont pas envoyés à des sockets Unix"
    ),
    "{} does not resolve": "{0} ne se résout pas",
    "{} is not an origin like https://host[:port]": (
        "{0} n'est pas une origine comme https://hôte[:port]"
    ),
    "{} resolves to {}, which is not a public address (SEGMENTD_WEBHOOK_ALLOWED_HOSTS can "
    "allow it)": (
        "{0} se résout en {1}, qui n'est pas une adresse publique "
        "(SEGMENTD_WEBHOOK_ALLOWED_HOSTS peut l'autoriser)"
    ),
}

# Words a ``{n:t}`` value may be that the pages' phrases do not hold (an import's target).
_OWN_WORDS = {"list": "la liste", "campaign": "la campagne"}
# How a CSV header's problems are raised together (``imports.mapping.listed``).
_GATHERED = "; "
_VALUE = re.compile(r"\{([0-9]+)(:t)?\}")


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """Each template as a pattern of its values, the longest fixed start first, then the most
    fixed words: ``field Age: abc is not a number`` fits both ``field {}: {}`` and ``{} is not
    a number``, and was made from the first (the second made its value)."""
    ordered = sorted(
        REFUSALS_FRENCH, key=lambda t: (-len(t.split("{}")[0]), -len(t.replace("{}", "")))
    )
    return [
        (re.compile("(.*?)".join(re.escape(part) for part in t.split("{}")), re.DOTALL), t)
        for t in ordered
    ]


def french_refusal(message: str, words: Mapping[str, str] = {}) -> str:
    """The French of a refusal's message, or the message itself when no template made it.
    ``words``: French of the plain words a ``{n:t}`` value may be (a campaign's status)."""
    for pattern, template in _patterns():
        found = pattern.fullmatch(message)
        if found is not None:
            return _filled(REFUSALS_FRENCH[template], found.groups(), words)
    if _GATHERED in message:  # several problems raised as one
        parts = [french_refusal(part, words) for part in message.split(_GATHERED)]
        return " ; ".join(parts)
    return message


def _filled(french: str, values: tuple[str, ...], words: Mapping[str, str]) -> str:
    return _VALUE.sub(lambda v: _value(values[int(v.group(1))], bool(v.group(2)), words), french)


def _value(value: str, translated: bool, words: Mapping[str, str]) -> str:
    if not translated:
        return value
    return _OWN_WORDS.get(value) or words.get(value) or french_refusal(value, words)
