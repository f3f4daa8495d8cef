"""Dutch and English for the pages: the English text is the message id, Dutch is looked up.

The language is the person's first profile language when it is ``nl`` or ``en``, else the
browser's (``Accept-Language``), else English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models import Person

LANGUAGES = ("en", "nl")
DEFAULT = "en"

Translator = Callable[..., str]

# Messages whose English is not the id itself (states, kinds).
EN: dict[str, str] = {
    "status:open": "open",
    "status:answered": "answered",
    "status:filled": "filled",
    "status:closed": "closed",
    "status:expired": "expired",
    "status:withdrawn": "withdrawn",
    "kind:question": "question",
    "kind:volunteers": "volunteers",
    "kind:referral": "referral",
    "state:proposed": "not asked yet",
    "state:nudged": "asked",
    "state:seen": "seen",
    "state:replied": "replied",
    "state:declined": "declined",
    "state:forwarded": "forwarded",
    "state:expired": "expired",
    "reply:answer": "answer",
    "reply:volunteer": "volunteers",
    "reply:decline": "not me",
    "reply:forward": "forwarded",
    "post:post": "post",
    "post:question": "question",
    "post:answer": "answer",
    "post:call": "call",
    "post:profile": "profile",
    "held:away": "held back: away",
    "held:busy": "held back: asked enough this week",
    "held:below_floor": "held back: too little evidence",
    "held:none": "would be asked",
}

NL: dict[str, str] = {
    "held:away": "niet gevraagd: afwezig",
    "held:busy": "niet gevraagd: deze week al genoeg gevraagd",
    "held:below_floor": "niet gevraagd: te weinig bewijs",
    "held:none": "wordt gevraagd",
    "status:open": "open",
    "status:answered": "beantwoord",
    "status:filled": "vol",
    "status:closed": "gesloten",
    "status:expired": "verlopen",
    "status:withdrawn": "ingetrokken",
    "kind:question": "vraag",
    "kind:volunteers": "vrijwilligers",
    "kind:referral": "doorverwijzing",
    "state:proposed": "nog niet gevraagd",
    "state:nudged": "gevraagd",
    "state:seen": "gezien",
    "state:replied": "gereageerd",
    "state:declined": "afgeslagen",
    "state:forwarded": "doorgestuurd",
    "state:expired": "verlopen",
    "reply:answer": "antwoord",
    "reply:volunteer": "doet mee",
    "reply:decline": "niet voor mij",
    "reply:forward": "doorgestuurd",
    "post:post": "bericht",
    "post:question": "vraag",
    "post:answer": "antwoord",
    "post:call": "oproep",
    "post:profile": "profiel",
    # layout
    "Skip to content": "Naar de inhoud",
    "Main": "Hoofdmenu",
    "Ask": "Vraag iets",
    "My posts": "Mijn berichten",
    "Profile": "Profiel",
    "Sign out": "Uitloggen",
    "Search people and calls": "Zoek collega's en oproepen",
    "Search people, skills, calls": "Zoek collega's, vaardigheden, oproepen",
    "Search": "Zoeken",
    "Error": "Fout",
    "Back to AskHub": "Terug naar AskHub",
    "You may not do this, or the form was too old. Go back, reload the page and try again.": (
        "Dat mag niet, of het formulier was te oud. Ga terug, laad de pagina opnieuw en "
        "probeer het nog eens."
    ),
    "This page does not exist (any more).": "Deze pagina bestaat niet (meer).",
    "That is too much text for one go.": "Dat is te veel tekst in één keer.",
    "Too many failed attempts. Wait a few minutes, then try again.": (
        "Te veel mislukte pogingen. Wacht een paar minuten en probeer het dan opnieuw."
    ),
    "Something went wrong on our side.": "Er ging bij ons iets mis.",
    "AskHub does not know you yet. Ask your AskHub admin to add you.": (
        "AskHub kent je nog niet. Vraag de beheerder van AskHub je toe te voegen."
    ),
    "Your company sign-in did not say who you are. Sign in again.": (
        "De bedrijfslogin gaf niet door wie je bent. Log opnieuw in."
    ),
    # sign in
    "Sign in": "Inloggen",
    "Sign in to AskHub": "Inloggen bij AskHub",
    "Ask colleagues, answer what you know.": "Vraag het je collega's, beantwoord wat jij weet.",
    "Your handle": "Je gebruikersnaam",
    "Password": "Wachtwoord",
    "No password yet? Ask your AskHub admin to set one.": (
        "Nog geen wachtwoord? Vraag de beheerder van AskHub er een in te stellen."
    ),
    "Wrong handle or password.": "Onjuiste gebruikersnaam of wachtwoord.",
    # home
    "Home": "Start",
    "Hello, {name}": "Hallo, {name}",
    "Asked of you": "Aan jou gevraagd",
    "from {name}": "van {name}",
    "deadline": "deadline",
    "Why you": "Waarom jij",
    "Why": "Waarom",
    "Nobody is waiting for you right now.": "Er wacht nu niemand op jou.",
    "Your calls": "Jouw oproepen",
    "You have not asked anything yet.": "Je hebt nog niets gevraagd.",
    "Ask your first question": "Stel je eerste vraag",
    "Volunteers wanted": "Vrijwilligers gezocht",
    "No open calls for volunteers.": "Geen open oproepen voor vrijwilligers.",
    "Notifications": "Meldingen",
    "{n} of {needed} volunteers": "{n} van {needed} vrijwilligers",
    "{n} answers": "{n} antwoorden",
    "wave {wave}, {asked} asked": "ronde {wave}, {asked} gevraagd",
    # search
    "Search people by name, skill or department, and calls by title.": (
        "Zoek collega's op naam, vaardigheid of afdeling, en oproepen op titel."
    ),
    "People": "Collega's",
    "Nobody found.": "Niemand gevonden.",
    "Calls": "Oproepen",
    "No calls found.": "Geen oproepen gevonden.",
    # new call
    "New call": "Nieuwe oproep",
    "Ask your colleagues": "Vraag het je collega's",
    "What do you need?": "Wat heb je nodig?",
    "A question": "Een vraag",
    "Someone who knows": "Iemand die het weet",
    "Volunteers": "Vrijwilligers",
    "A number of colleagues by a date": "Een aantal collega's voor een datum",
    "A referral": "Een doorverwijzing",
    "Share a vacancy or ask who knows someone": "Deel een vacature of vraag wie iemand kent",
    "Title": "Titel",
    "e.g. Who knows about steel construction?": "bijv. Wie weet iets van staalbouw?",
    "Details": "Toelichting",
    "markdown": "markdown",
    "Preview text": "Voorbeeld van de tekst",
    "Tags": "Labels",
    "comma separated": "gescheiden door komma's",
    "How many volunteers?": "Hoeveel vrijwilligers?",
    "Deadline": "Deadline",
    "optional": "optioneel",
    "Only ask people in …": "Alleen mensen vragen uit …",
    "Department": "Afdeling",
    "Location": "Locatie",
    "Post call": "Oproep plaatsen",
    "Who would it reach?": "Wie zou hij bereiken?",
    "Who it would reach": "Wie hij zou bereiken",
    "Type a title: AskHub shows who it would ask, and why.": (
        "Typ een titel: AskHub laat zien wie het zou vragen, en waarom."
    ),
    "Nobody matches yet. Use other or more general words, or add tags.": (
        "Nog niemand past. Gebruik andere of algemenere woorden, of voeg labels toe."
    ),
    "Nothing to preview.": "Niets om te tonen.",
    "Your call was sent to {n} colleagues.": "Je oproep is naar {n} collega's gestuurd.",
    "Say how many volunteers you need.": "Zeg hoeveel vrijwilligers je nodig hebt.",
    "Give a date and time, e.g. 2026-12-01 17:00.": (
        "Geef een datum en tijd, bijv. 2026-12-01 17:00."
    ),
    # call page
    "asked by": "gevraagd door",
    "Who was asked": "Wie is gevraagd",
    "Only you and managers see this.": "Alleen jij en managers zien dit.",
    "Managers see this.": "Managers zien dit.",
    "Wave {wave} of {max}.": "Ronde {wave} van {max}.",
    "{n} more in reserve for a next wave.": "Nog {n} in reserve voor een volgende ronde.",
    "wave": "ronde",
    "Nobody could be asked yet.": "Er kon nog niemand gevraagd worden.",
    "Replies": "Reacties",
    "Accepted answer": "Geaccepteerd antwoord",
    "Thanked": "Bedankt",
    "Accept this answer": "Accepteer dit antwoord",
    "Thank": "Bedank",
    "No replies yet.": "Nog geen reacties.",
    "Your reply": "Jouw reactie",
    "You volunteered. Thank you!": "Je doet mee. Dank je wel!",
    "Withdraw": "Terugtrekken",
    "A note (optional)": "Een opmerking (optioneel)",
    "I'll volunteer": "Ik doe mee",
    "This call has all the volunteers it needs.": (
        "Deze oproep heeft alle vrijwilligers die nodig zijn."
    ),
    "Your answer": "Jouw antwoord",
    "Send answer": "Antwoord versturen",
    "Forward to a colleague who knows better": "Doorsturen naar een collega die het beter weet",
    "Colleague (name or handle)": "Collega (naam of gebruikersnaam)",
    "A note for them (optional)": "Een bericht voor die collega (optioneel)",
    "Forward": "Doorsturen",
    "Not me": "Niet voor mij",
    "Why not, or who might know (optional)": "Waarom niet, of wie het wel weet (optioneel)",
    "Decline": "Afslaan",
    "This call takes no more replies.": "Deze oproep neemt geen reacties meer aan.",
    "Thank you! Your answer was sent to {name}.": (
        "Dank je wel! Je antwoord is naar {name} gestuurd."
    ),
    "Thank you for volunteering! {name} has been told.": (
        "Dank je wel dat je meedoet! {name} weet het."
    ),
    "Thanks for letting us know; you will not be asked about this again.": (
        "Bedankt voor het laten weten; je wordt hier niet meer over gevraagd."
    ),
    "Thanks! AskHub asked your colleague.": "Bedankt! AskHub heeft je collega gevraagd.",
    "You withdrew. {name} sees one volunteer less.": (
        "Je hebt je teruggetrokken. {name} ziet een vrijwilliger minder."
    ),
    "There is no volunteering of yours to withdraw here.": (
        "Je hebt je hier niet aangemeld, dus er valt niets terug te trekken."
    ),
    "This call is full: it has all the volunteers it needs.": (
        "Deze oproep is vol: er zijn al genoeg vrijwilligers."
    ),
    "You have already volunteered for this call.": "Je hebt je al aangemeld voor deze oproep.",
    "Accepted. The answer now counts as their expertise.": (
        "Geaccepteerd. Het antwoord telt nu mee als hun expertise."
    ),
    "{name} has been thanked.": "{name} is bedankt.",
    # one-click link pages
    "Answer": "Antwoorden",
    "Volunteer": "Meedoen",
    "Forward to a colleague": "Doorsturen naar een collega",
    "Remind me later": "Herinner me later",
    "Link not valid": "Link niet geldig",
    "Not found": "Niet gevonden",
    "this link has expired; open AskHub to reply": (
        "deze link is verlopen; open AskHub om te reageren"
    ),
    "this link is not valid": "deze link is niet geldig",
    "This call no longer exists.": "Deze oproep bestaat niet meer.",
    "{name} asked": "{name} vroeg",
    "Colleague's handle": "Gebruikersnaam van je collega",
    "Yes, I volunteer": "Ja, ik doe mee",
    "We will remind you later.": "We herinneren je er later aan.",
    "Open the call in AskHub": "Open de oproep in AskHub",
    "You answered this call on {when} with this link.": (
        "Je hebt deze oproep op {when} met deze link beantwoord."
    ),
    "You volunteered for this call on {when} with this link.": (
        "Je hebt je op {when} met deze link voor deze oproep aangemeld."
    ),
    "You said this call is not for you on {when}; its links no longer act.": (
        "Je gaf op {when} aan dat deze oproep niet voor jou is; de links ervan werken niet meer."
    ),
    "You forwarded this call on {when} with this link.": (
        "Je hebt deze oproep op {when} met deze link doorgestuurd."
    ),
    "You asked to be reminded later on {when} with this link.": (
        "Je vroeg op {when} met deze link om een latere herinnering."
    ),
    "only the asker, the people asked on this call and managers may forward it": (
        "alleen de vraagsteller, de gevraagde collega's en managers mogen deze oproep doorsturen"
    ),
    # profile
    "Your profile": "Jouw profiel",
    "See your public page": "Bekijk je openbare pagina",
    "About you": "Over jou",
    "Bio": "Over mij",
    "Skills": "Vaardigheden",
    "Languages": "Talen",
    "codes such as nl, en; the first is the language of these pages": (
        "codes zoals nl, en; de eerste is de taal van deze pagina's"
    ),
    "Time zone": "Tijdzone",
    "Save profile": "Profiel opslaan",
    "How AskHub may ask you": "Hoe AskHub je mag vragen",
    "Availability": "Beschikbaarheid",
    "Available": "Beschikbaar",
    "Away until …": "Afwezig tot …",
    "Do not ask me (opt out)": "Vraag mij niets (afmelden)",
    "Away until": "Afwezig tot",
    "Say until when you are away.": "Zeg tot wanneer je afwezig bent.",
    "At most this many asks per week": "Hoogstens zoveel vragen per week",
    "Quiet hours (no email or webhook)": "Stille uren (geen e-mail of webhook)",
    "from": "van",
    "until": "tot",
    "Channels": "Kanalen",
    "In AskHub (always)": "In AskHub (altijd)",
    "Email": "E-mail",
    "Webhook (chat)": "Webhook (chat)",
    "Webhook URL": "Webhook-URL",
    "One digest email a day instead of single emails": (
        "Eén overzichtsmail per dag in plaats van losse mails"
    ),
    "Save preferences": "Voorkeuren opslaan",
    "What AskHub thinks you know": "Wat AskHub denkt dat je weet",
    "Inferred from your posts and answers. Hide what is wrong; add what is missing.": (
        "Afgeleid uit je berichten en antwoorden. Verberg wat niet klopt; voeg toe wat ontbreekt."
    ),
    "{n} posts": "{n} berichten",
    "Hide {topic}": "Verberg {topic}",
    "Hide": "Verberg",
    "Nothing yet: write a post about something you know.": (
        "Nog niets: schrijf een bericht over iets wat je weet."
    ),
    "Hidden:": "Verborgen:",
    "Show {topic} again": "Toon {topic} weer",
    "Add a skill": "Vaardigheid toevoegen",
    "Add": "Toevoegen",
    "Type a skill to add.": "Typ een vaardigheid om toe te voegen.",
    "Current password": "Huidig wachtwoord",
    "New password (at least 8 characters)": "Nieuw wachtwoord (minstens 8 tekens)",
    "Change password": "Wachtwoord wijzigen",
    "Fill in both passwords.": "Vul beide wachtwoorden in.",
    "The current password is wrong.": "Het huidige wachtwoord klopt niet.",
    "Changing your password signs you out everywhere else.": (
        "Als je je wachtwoord wijzigt, word je overal elders uitgelogd."
    ),
    "Sign out everywhere": "Overal uitloggen",
    "Your data": "Jouw gegevens",
    "Download my data (JSON)": "Download mijn gegevens (JSON)",
    "Saved.": "Opgeslagen.",
    "This email address belongs to another person.": "Dit e-mailadres is van iemand anders.",
    (
        "Your email address is how you sign in; it comes from the company directory. "
        "Ask your AskHub admin to change it."
    ): (
        "Met je e-mailadres log je in; het komt uit het bedrijfsadresboek. "
        "Vraag de beheerder van AskHub het te wijzigen."
    ),
    # posts
    "Write about something you know or did. It counts as your expertise at once.": (
        "Schrijf over iets wat je weet of gedaan hebt. Het telt meteen mee als je expertise."
    ),
    "Edit post": "Bericht bewerken",
    "Write a post": "Schrijf een bericht",
    "Text": "Tekst",
    "Save post": "Bericht opslaan",
    "Publish": "Publiceren",
    "Cancel": "Annuleren",
    "Written so far": "Tot nu toe geschreven",
    "(untitled)": "(zonder titel)",
    "Edit": "Bewerken",
    "Imported or from an answer: change it where it came from.": (
        "Geïmporteerd of uit een antwoord: wijzig het bij de bron."
    ),
    "No posts yet.": "Nog geen berichten.",
    "Published. AskHub counts it as your expertise from now on.": (
        "Gepubliceerd. AskHub telt het vanaf nu mee als je expertise."
    ),
    # people
    "Posts": "Berichten",
    "Answered calls": "Beantwoorde oproepen",
    "No answers yet.": "Nog geen antwoorden.",
    # erasure
    (
        "Erase my account: your profile, posts and calls leave AskHub for good. Your answers "
        "stay for the people who asked, without your name."
    ): (
        "Mijn account wissen: je profiel, berichten en oproepen verdwijnen voorgoed uit AskHub. "
        "Je antwoorden blijven bewaard voor wie ze vroeg, zonder je naam."
    ),
    "Type your handle to confirm": "Typ je gebruikersnaam om te bevestigen",
    "Type your handle to confirm.": "Typ je gebruikersnaam om te bevestigen.",
    "Erase my account": "Mijn account wissen",
    "Former colleague": "Oud-collega",
    # input bounds (service messages shown on pages)
    "must not contain NUL characters": "mag geen NUL-tekens bevatten",
    "a title needs words, not only spaces": "een titel heeft woorden nodig, niet alleen spaties",
    "use an https:// address for webhooks": "gebruik een https://-adres voor webhooks",
    "a webhook address needs a host name": "een webhookadres heeft een hostnaam nodig",
    (
        "this address points inside the network (private, loopback, link-local or metadata); "
        "AskHub does not send webhooks there"
    ): (
        "dit adres wijst naar het interne netwerk (privé, loopback, link-local of metadata); "
        "AskHub stuurt daar geen webhooks heen"
    ),
    # the asker in control (calls.control) and the board
    "Only the asker may do this.": "Alleen de vrager mag dit doen.",
    "Only the asker or a manager may do this.": "Alleen de vrager of een manager mag dit doen.",
    "This call is already closed.": "Deze oproep is al gesloten.",
    "This call is not closed.": "Deze oproep is niet gesloten.",
    "This call was withdrawn.": "Deze oproep is ingetrokken.",
    "This call is closed: reopen it with a new deadline.": "Deze oproep is gesloten: heropen hem met een nieuwe deadline.",
    "The deadline has passed: give a new one to reopen the call.": "De deadline is voorbij: geef een nieuwe om de oproep te heropenen.",
    "The deadline must be in the future.": "De deadline moet in de toekomst liggen.",
    "The deadline must include a time zone, e.g. 2026-12-01T17:00:00+01:00.": "De deadline moet een tijdzone bevatten, bijv. 2026-12-01T17:00:00+01:00.",
    "This call has no such reply.": "Deze oproep heeft zo'n reactie niet.",
    "Only answers can be accepted.": "Alleen antwoorden kunnen worden geaccepteerd.",
    "Only answers, volunteers and forwards can be thanked.": "Alleen voor antwoorden, aanmeldingen en doorverwijzingen kun je bedanken.",
    "A title needs words, not only spaces.": "Een titel heeft woorden nodig, niet alleen spaties.",
    "Write a message.": "Schrijf een bericht.",
    "This call has no volunteers to message.": "Deze oproep heeft geen vrijwilligers om te berichten.",
    "This call is meant for colleagues in another department or location.": "Deze oproep is bedoeld voor collega's van een andere afdeling of locatie.",
    "keep the question open": "houd de vraag open",
    "Your call": "Jouw oproep",
    "Manage this call": "Deze oproep beheren",
    "Close the call": "Oproep sluiten",
    "New deadline": "Nieuwe deadline",
    "Change the deadline": "Deadline wijzigen",
    "Reopen": "Heropenen",
    "Withdraw the call": "Oproep intrekken",
    "Everyone asked and every volunteer hears it is off; nobody can reply any more.": "Iedereen die gevraagd is en elke vrijwilliger hoort dat het niet doorgaat; niemand kan nog reageren.",
    "Download as CSV": "Downloaden als CSV",
    "A message to all volunteers": "Een bericht aan alle vrijwilligers",
    "Send to all volunteers": "Naar alle vrijwilligers sturen",
    "Nobody has volunteered yet.": "Nog niemand heeft zich aangemeld.",
    "Edit call": "Oproep bewerken",
    "Save": "Opslaan",
    "Accepted, and the question is closed. The answer now counts as their expertise.": "Geaccepteerd, en de vraag is gesloten. Het antwoord telt nu als hun expertise.",
    "Thanked.": "Bedankt.",
    "Closed. The colleagues still asked have been told they are no longer needed.": "Gesloten. De collega's die nog gevraagd waren, horen dat ze niet meer nodig zijn.",
    "Reopened.": "Heropend.",
    "The deadline is changed.": "De deadline is gewijzigd.",
    "Withdrawn. Everyone asked and every volunteer has been told.": "Ingetrokken. Iedereen die gevraagd is en elke vrijwilliger is ingelicht.",
    "Sent.": "Verstuurd.",
    "Sent to {n} volunteers.": "Verstuurd naar {n} vrijwilligers.",
    "Open calls": "Open oproepen",
    "Calls you may answer or volunteer for, whether you were asked or not.": "Oproepen waarop je mag antwoorden of je aanmelden, of je nu gevraagd bent of niet.",
    "Kind": "Soort",
    "Status": "Status",
    "all": "alle",
    "Filter": "Filteren",
    "{n} calls": "{n} oproepen",
    "Pages": "Pagina's",
    "Newer": "Nieuwer",
    "Older": "Ouder",
    "Asked before?": "Al eens gevraagd?",
    "Colleagues asked this before and got an answer. Perhaps it answers yours, and nobody needs to be asked.": "Collega's vroegen dit eerder en kregen antwoord. Misschien beantwoordt het de jouwe, en hoeft niemand gevraagd te worden.",
    "This answers my question": "Dit beantwoordt mijn vraag",
    "Nothing like this was answered before.": "Zoiets is nog niet eerder beantwoord.",
    "Glad it was asked before. Nobody was asked.": "Fijn dat het al eens gevraagd was. Er is niemand gevraagd.",
    "This call has no accepted answer or full list to take.": "Deze oproep heeft geen geaccepteerd antwoord of volle lijst om over te nemen.",
}

CATALOGUES = {"en": EN, "nl": NL}


def translator(lang: str) -> Translator:
    catalogue = CATALOGUES.get(lang, EN)

    def t(message: str, **values: Any) -> str:
        text = catalogue.get(message) or EN.get(message) or message
        return text.format(**values) if values else text

    return t


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (``nl-NL,nl;q=0.9,en;q=0.8``)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in LANGUAGES:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (-quality, position, lang)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def language_for(person: Person | None, accept_language: str | None) -> str:
    if person is not None and person.languages and person.languages[0] in LANGUAGES:
        return person.languages[0]
    return from_accept_language(accept_language) or DEFAULT
