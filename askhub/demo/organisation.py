"""The fictional Telenova organisation behind ``askhub demo load``.

Telenova is an invented Dutch telecom & infrastructure company. Everybody in it is generated
from the small hand-written vocabularies below, so the demo is reproducible for a seed and
contains no real people. A handful of expertise topics (steel construction, modem testing,
Nova1 Connect, ...) are each given to a few people with clearly on-topic posts, partly in Dutch
and partly in English, so that routing -- including cross-lingual routing -- can be shown.
"""

from __future__ import annotations

import json
import random
import re
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

DEMO_SEED = 7
COMPANY = "Telenova"
EMAIL_DOMAIN = "telenova.example"

# (title, body, extra tags); ``{slot}`` fields are filled per post.
Template = tuple[str, str, tuple[str, ...]]
Slots = dict[str, tuple[str, ...]]

# --------------------------------------------------------------------------------------------
# Organisation
# --------------------------------------------------------------------------------------------

# Fixed head count per department keeps the size of the demo independent of the seed.
DEPARTMENT_SIZES: dict[str, int] = {
    "Netwerk & Techniek": 20,
    "Klantenservice": 20,
    "Winkels": 18,
    "Field Service": 18,
    "IT & Software": 19,
    "Marketing": 12,
    "Data & Analytics": 12,
    "HR": 10,
    "Financiën": 10,
    "Juridisch": 8,
    "Inkoop": 10,
    "Vastgoed & Bouw": 12,
}

DEPARTMENT_EN: dict[str, str] = {
    "Netwerk & Techniek": "Network & Engineering",
    "Klantenservice": "Customer Service",
    "Winkels": "Retail",
    "Field Service": "Field Service",
    "IT & Software": "IT & Software",
    "Marketing": "Marketing",
    "Data & Analytics": "Data & Analytics",
    "HR": "HR",
    "Financiën": "Finance",
    "Juridisch": "Legal",
    "Inkoop": "Procurement",
    "Vastgoed & Bouw": "Real Estate & Construction",
}

LOCATIONS: tuple[str, ...] = (
    "Amsterdam",
    "Rotterdam",
    "Den Haag",
    "Utrecht",
    "Groningen",
    "Eindhoven",
    "Zwolle",
    "Maastricht",
)

_HQ = (("Den Haag", 4), ("Amsterdam", 2), ("Utrecht", 2), ("Rotterdam", 1))
_TECH = (("Amsterdam", 3), ("Utrecht", 3), ("Eindhoven", 3), ("Den Haag", 1), ("Groningen", 1))
_EVERYWHERE = tuple((loc, 1) for loc in LOCATIONS)

# Head office functions sit in Den Haag, tech in the Randstad/Brainport, call centres up north
# and south, shops and engineers everywhere.
DEPARTMENT_LOCATIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "Netwerk & Techniek": (
        ("Utrecht", 2),
        ("Zwolle", 2),
        ("Eindhoven", 2),
        ("Rotterdam", 2),
        ("Groningen", 1),
        ("Amsterdam", 1),
        ("Maastricht", 1),
    ),
    "Klantenservice": (("Groningen", 3), ("Maastricht", 3), ("Zwolle", 2), ("Rotterdam", 2)),
    "Winkels": _EVERYWHERE,
    "Field Service": _EVERYWHERE,
    "IT & Software": _TECH,
    "Data & Analytics": _TECH,
    "Marketing": _HQ,
    "HR": _HQ,
    "Financiën": _HQ,
    "Juridisch": _HQ,
    "Inkoop": _HQ,
    "Vastgoed & Bouw": (("Den Haag", 2), ("Utrecht", 2), ("Rotterdam", 2), ("Zwolle", 1)),
}

# (Dutch job title, English job title with article)
DEPARTMENT_ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "Netwerk & Techniek": (
        ("netwerkengineer", "a network engineer"),
        ("netwerkarchitect", "a network architect"),
        ("radioplanner", "a radio planner"),
        ("transmissiespecialist", "a transmission specialist"),
        ("teamleider netwerkbeheer", "a network operations team lead"),
    ),
    "Klantenservice": (
        ("klantenservicemedewerker", "a customer service agent"),
        ("teamleider klantenservice", "a customer service team lead"),
        ("kwaliteitscoach", "a quality coach"),
        ("medewerker tweede lijn", "a second-line support agent"),
        ("workforce planner", "a workforce planner"),
    ),
    "Winkels": (
        ("winkelmedewerker", "a retail associate"),
        ("winkelmanager", "a store manager"),
        ("regiomanager winkels", "a regional retail manager"),
        ("verkoopadviseur", "a sales advisor"),
    ),
    "Field Service": (
        ("servicemonteur", "a field engineer"),
        ("glasvezelmonteur", "a fibre technician"),
        ("planner buitendienst", "a field service planner"),
        ("teamleider monteurs", "a field engineering team lead"),
    ),
    "IT & Software": (
        ("softwareontwikkelaar", "a software developer"),
        ("platformengineer", "a platform engineer"),
        ("security-specialist", "a security specialist"),
        ("scrum master", "a scrum master"),
        ("product owner", "a product owner"),
    ),
    "Marketing": (
        ("campagnemanager", "a campaign manager"),
        ("productmarketeer", "a product marketer"),
        ("contentspecialist", "a content specialist"),
        ("merkstrateeg", "a brand strategist"),
    ),
    "Data & Analytics": (
        ("data engineer", "a data engineer"),
        ("data-analist", "a data analyst"),
        ("data scientist", "a data scientist"),
        ("BI-specialist", "a BI specialist"),
    ),
    "HR": (
        ("HR-adviseur", "an HR advisor"),
        ("recruiter", "a recruiter"),
        ("opleidingsadviseur", "a learning and development advisor"),
        ("HR-businesspartner", "an HR business partner"),
    ),
    "Financiën": (
        ("controller", "a controller"),
        ("financieel analist", "a financial analyst"),
        ("crediteurenadministrateur", "an accounts payable specialist"),
        ("business controller", "a business controller"),
    ),
    "Juridisch": (
        ("bedrijfsjurist", "a corporate lawyer"),
        ("privacyjurist", "a privacy lawyer"),
        ("contractmanager", "a contract manager"),
        ("compliance officer", "a compliance officer"),
    ),
    "Inkoop": (
        ("inkoper", "a buyer"),
        ("categoriemanager", "a category manager"),
        ("contractmanager inkoop", "a procurement contract manager"),
        ("leveranciersmanager", "a vendor manager"),
    ),
    "Vastgoed & Bouw": (
        ("projectleider bouw", "a construction project manager"),
        ("bouwkundig adviseur", "a building consultant"),
        ("facilitair manager", "a facilities manager"),
        ("vastgoedadviseur", "a real estate advisor"),
    ),
}

# Generic skills per department and language. Topic keywords (Excel, Python, Kubernetes, ...)
# are deliberately absent so that topic experts stay recognisable.
DEPARTMENT_SKILLS: dict[str, dict[str, tuple[str, ...]]] = {
    "Netwerk & Techniek": {
        "nl": ("netwerkbeheer", "IP-routering", "storingsanalyse", "capaciteitsplanning"),
        "en": ("network operations", "IP routing", "incident analysis", "capacity planning"),
    },
    "Klantenservice": {
        "nl": ("klantcontact", "klachtafhandeling", "NovaDesk", "de-escalatie"),
        "en": ("customer contact", "complaint handling", "NovaDesk", "de-escalation"),
    },
    "Winkels": {
        "nl": ("verkoop", "klantadvies", "voorraadbeheer", "kassasystemen"),
        "en": ("sales", "customer advice", "stock management", "point of sale"),
    },
    "Field Service": {
        "nl": ("installatie", "storingen verhelpen", "meetapparatuur", "veilig werken op hoogte"),
        "en": ("installation", "troubleshooting", "test equipment", "working at height"),
    },
    "IT & Software": {
        "nl": ("Java", "TypeScript", "Terraform", "CI/CD", "informatiebeveiliging"),
        "en": ("Java", "TypeScript", "Terraform", "CI/CD", "information security"),
    },
    "Marketing": {
        "nl": ("campagnes", "copywriting", "marktonderzoek", "social media"),
        "en": ("campaigns", "copywriting", "market research", "social media"),
    },
    "Data & Analytics": {
        "nl": ("SQL", "dashboards", "statistiek", "datamodellering"),
        "en": ("SQL", "dashboards", "statistics", "data modelling"),
    },
    "HR": {
        "nl": ("arbeidsrecht", "verzuimbegeleiding", "opleidingen", "onboarding"),
        "en": ("employment law", "absence management", "training", "onboarding"),
    },
    "Financiën": {
        "nl": ("financiële analyse", "budgettering", "jaarafsluiting", "forecasting"),
        "en": ("financial analysis", "budgeting", "year-end closing", "forecasting"),
    },
    "Juridisch": {
        "nl": ("contractenrecht", "telecomwetgeving", "compliance", "onderhandelen"),
        "en": ("contract law", "telecom regulation", "compliance", "negotiation"),
    },
    "Inkoop": {
        "nl": ("onderhandelen", "contractbeheer", "leveranciersbeoordeling", "Orbit ERP"),
        "en": ("negotiation", "contract management", "supplier evaluation", "Orbit ERP"),
    },
    "Vastgoed & Bouw": {
        "nl": ("projectmanagement", "facilitair beheer", "bouwkunde", "huurcontracten"),
        "en": ("project management", "facilities management", "building engineering", "leases"),
    },
}

DEPARTMENT_TAGS: dict[str, dict[str, str]] = {
    "Netwerk & Techniek": {"nl": "netwerk", "en": "network"},
    "Klantenservice": {"nl": "klantenservice", "en": "customer-service"},
    "Winkels": {"nl": "winkels", "en": "retail"},
    "Field Service": {"nl": "field-service", "en": "field-service"},
    "IT & Software": {"nl": "it", "en": "it"},
    "Marketing": {"nl": "marketing", "en": "marketing"},
    "Data & Analytics": {"nl": "data", "en": "data"},
    "HR": {"nl": "hr", "en": "hr"},
    "Financiën": {"nl": "financien", "en": "finance"},
    "Juridisch": {"nl": "juridisch", "en": "legal"},
    "Inkoop": {"nl": "inkoop", "en": "procurement"},
    "Vastgoed & Bouw": {"nl": "vastgoed", "en": "real-estate"},
}

# Internal tools are fictional (or generic open-source) so that no real vendor is named.
DEPARTMENT_TOOLS: dict[str, tuple[str, ...]] = {
    "Netwerk & Techniek": ("Grafana", "NetBox", "Ansible", "NovaMon"),
    "Klantenservice": ("NovaDesk", "KlantPortaal", "ChatAssist", "NovaKnow"),
    "Winkels": ("NovaPOS", "ShopPlan", "KlantPortaal", "RoosterApp"),
    "Field Service": ("NovaField", "RouteMaster", "MeetKit", "NovaMon"),
    "IT & Software": ("Git", "Jira", "Terraform", "Grafana"),
    "Marketing": ("CampaignHub", "NovaCMS", "BrandKit", "Jira"),
    "Data & Analytics": ("SQL", "dbt", "Jupyter", "Grafana"),
    "HR": ("NovaHR", "LearnHub", "RoosterApp", "Jira"),
    "Financiën": ("Orbit ERP", "NovaPay", "PlanIt", "ContractBase"),
    "Juridisch": ("ContractBase", "NovaDocs", "Jira"),
    "Inkoop": ("Orbit ERP", "TenderNet", "ContractBase"),
    "Vastgoed & Bouw": ("BouwPlan", "FacilityDesk", "NovaFacility"),
}

# Noun phrases that slot into the generic templates: process, metric and thing.
DEPARTMENT_VOCAB: dict[str, dict[str, Slots]] = {
    "Netwerk & Techniek": {
        "nl": {
            "process": (
                "het onderhoud van de backbone",
                "de storingsanalyse na grote uitval",
                "de capaciteitsplanning voor het mobiele netwerk",
                "het wisselen van routers in de centrales",
                "de nachtelijke onderhoudsvensters",
            ),
            "metric": (
                "de gemiddelde hersteltijd",
                "het aantal storingsminuten per klant",
                "de bezettingsgraad van de ringen",
                "het aantal mislukte wijzigingen",
            ),
            "thing": (
                "de migratie naar IPv6",
                "het uitfaseren van het kopernet",
                "redundantie in de core",
                "netwerkautomatisering met Ansible",
                "het nieuwe monitoringdashboard",
            ),
        },
        "en": {
            "process": (
                "backbone maintenance",
                "root cause analysis after major outages",
                "capacity planning for the mobile network",
                "router swaps in the exchanges",
                "night-time maintenance windows",
            ),
            "metric": (
                "mean time to repair",
                "outage minutes per customer",
                "ring utilisation",
                "the number of failed changes",
            ),
            "thing": (
                "the IPv6 migration",
                "the copper switch-off",
                "core network redundancy",
                "network automation with Ansible",
                "the new monitoring dashboard",
            ),
        },
    },
    "Klantenservice": {
        "nl": {
            "process": (
                "het afhandelen van terugbelverzoeken",
                "de overdracht tussen eerste en tweede lijn",
                "het verwerken van opzeggingen",
                "de inzet van de chat in de avonduren",
            ),
            "metric": (
                "de klanttevredenheid",
                "de gemiddelde wachttijd",
                "het percentage opgelost bij eerste contact",
                "het aantal herhaalcontacten",
            ),
            "thing": (
                "de nieuwe chatbot",
                "klachten over facturen",
                "het werken in wisseldiensten",
                "de nieuwe kennisbank",
            ),
        },
        "en": {
            "process": (
                "callback requests",
                "the handover between first and second line",
                "processing cancellations",
                "evening chat coverage",
            ),
            "metric": (
                "customer satisfaction",
                "average waiting time",
                "first contact resolution",
                "the number of repeat contacts",
            ),
            "thing": (
                "the new chatbot",
                "billing complaints",
                "rotating shifts",
                "the new knowledge base",
            ),
        },
    },
    "Winkels": {
        "nl": {
            "process": (
                "het openen en sluiten van de winkel",
                "het uitleveren van online bestellingen",
                "de maandelijkse voorraadtelling",
                "het inwerken van zaterdagkrachten",
            ),
            "metric": (
                "de conversie in de winkel",
                "het aantal verkochte abonnementen",
                "de wachttijd aan de balie",
                "de omzet per bezoeker",
            ),
            "thing": (
                "de nieuwe etalage",
                "reparaties aan de balie",
                "de kerstdrukte",
                "de lancering van de nieuwe toestellen",
            ),
        },
        "en": {
            "process": (
                "opening and closing the store",
                "handing out online orders",
                "the monthly stock count",
                "onboarding Saturday staff",
            ),
            "metric": (
                "in-store conversion",
                "the number of plans sold",
                "waiting time at the counter",
                "revenue per visitor",
            ),
            "thing": (
                "the new shop window",
                "repairs at the counter",
                "the Christmas rush",
                "the launch of the new devices",
            ),
        },
    },
    "Field Service": {
        "nl": {
            "process": (
                "het plannen van storingsbezoeken",
                "het vastleggen van werkbonnen",
                "de overdracht van de avonddienst",
                "het ophalen van materiaal bij het magazijn",
            ),
            "metric": (
                "het aantal bezoeken per dag",
                "het percentage in één keer opgelost",
                "de reistijd per afspraak",
                "het aantal gemiste afspraken",
            ),
            "thing": (
                "de nieuwe werkbussen",
                "werken in de avonddienst",
                "het inwerken van nieuwe monteurs",
                "veilig werken langs de weg",
            ),
        },
        "en": {
            "process": (
                "scheduling repair visits",
                "logging work orders",
                "the evening shift handover",
                "collecting materials from the warehouse",
            ),
            "metric": (
                "visits per day",
                "first-time fix rate",
                "travel time per appointment",
                "the number of missed appointments",
            ),
            "thing": (
                "the new vans",
                "working the evening shift",
                "onboarding new engineers",
                "working safely next to the road",
            ),
        },
    },
    "IT & Software": {
        "nl": {
            "process": (
                "het uitrollen van releases",
                "de afhandeling van security-incidenten",
                "het beheer van toegangsrechten",
                "de codereview",
            ),
            "metric": (
                "de doorlooptijd van een wijziging",
                "het aantal incidenten na een release",
                "de beschikbaarheid van KlantPortaal",
                "de testdekking",
            ),
            "thing": (
                "de nieuwe versie van KlantPortaal",
                "single sign-on voor alle interne tools",
                "het opruimen van oude servers",
                "de overstap naar Terraform",
            ),
        },
        "en": {
            "process": (
                "shipping releases",
                "security incident handling",
                "access management",
                "code review",
            ),
            "metric": (
                "lead time for changes",
                "incidents after a release",
                "KlantPortaal availability",
                "test coverage",
            ),
            "thing": (
                "the new KlantPortaal",
                "single sign-on for all internal tools",
                "decommissioning old servers",
                "the move to Terraform",
            ),
        },
    },
    "Marketing": {
        "nl": {
            "process": (
                "het plannen van campagnes",
                "het afstemmen van teksten met Juridisch",
                "het meten van campagneresultaten",
                "de productie van video's",
            ),
            "metric": (
                "de klikratio",
                "de naamsbekendheid",
                "het aantal aanmeldingen via de website",
                "de kosten per nieuwe klant",
            ),
            "thing": (
                "de voorjaarscampagne",
                "de vernieuwde website",
                "onze sponsoring van lokale sportclubs",
                "de nieuwe mobiele bundels",
            ),
        },
        "en": {
            "process": (
                "campaign planning",
                "legal review of copy",
                "measuring campaign results",
                "video production",
            ),
            "metric": (
                "click-through rate",
                "brand awareness",
                "website sign-ups",
                "cost per acquisition",
            ),
            "thing": (
                "the spring campaign",
                "the redesigned website",
                "our sponsorship of local sports clubs",
                "the new mobile bundles",
            ),
        },
    },
    "Data & Analytics": {
        "nl": {
            "process": (
                "het aanvragen van datatoegang",
                "het documenteren van datasets",
                "het valideren van modellen",
                "het prioriteren van data-aanvragen",
            ),
            "metric": (
                "de datakwaliteit",
                "de doorlooptijd van een data-aanvraag",
                "het gebruik van de dashboards",
                "de nauwkeurigheid van de forecast",
            ),
            "thing": (
                "de nieuwe datacatalogus",
                "het klantwaardemodel",
                "de forecast van het belvolume",
                "het opschonen van de klantdata",
            ),
        },
        "en": {
            "process": (
                "data access requests",
                "documenting datasets",
                "model validation",
                "prioritising data requests",
            ),
            "metric": (
                "data quality",
                "turnaround time for data requests",
                "dashboard usage",
                "forecast accuracy",
            ),
            "thing": (
                "the new data catalogue",
                "the customer lifetime value model",
                "the call volume forecast",
                "cleaning up customer data",
            ),
        },
    },
    "HR": {
        "nl": {
            "process": (
                "de onboarding van nieuwe collega's",
                "de jaarlijkse gesprekscyclus",
                "de verzuimbegeleiding",
                "het afhandelen van contractverlengingen",
            ),
            "metric": (
                "het ziekteverzuim",
                "het verloop in het eerste jaar",
                "de deelname aan trainingen",
                "de score in het medewerkersonderzoek",
            ),
            "thing": (
                "het medewerkersonderzoek",
                "het nieuwe functiehuis",
                "de vitaliteitsweek",
                "de mentorregeling voor starters",
            ),
        },
        "en": {
            "process": (
                "onboarding new colleagues",
                "the annual review cycle",
                "absence management",
                "contract renewals",
            ),
            "metric": (
                "sickness absence",
                "first-year attrition",
                "training participation",
                "the engagement survey score",
            ),
            "thing": (
                "the engagement survey",
                "the new job framework",
                "wellbeing week",
                "the mentoring scheme for starters",
            ),
        },
    },
    "Financiën": {
        "nl": {
            "process": (
                "de maandafsluiting",
                "het goedkeuren van facturen",
                "de budgetronde",
                "het verwerken van declaraties",
            ),
            "metric": (
                "de betaaltermijn van facturen",
                "het aantal handmatige boekingen",
                "de afwijking van het budget",
                "de openstaande debiteuren",
            ),
            "thing": (
                "de nieuwe budgetcyclus",
                "de overstap naar e-facturen",
                "de jaarrekening",
                "het automatisch matchen van betalingen",
            ),
        },
        "en": {
            "process": (
                "month-end closing",
                "invoice approval",
                "the budget round",
                "expense claims",
            ),
            "metric": (
                "invoice payment time",
                "the number of manual journal entries",
                "budget variance",
                "outstanding receivables",
            ),
            "thing": (
                "the new budget cycle",
                "the move to e-invoicing",
                "the annual accounts",
                "automatic payment matching",
            ),
        },
    },
    "Juridisch": {
        "nl": {
            "process": (
                "het beoordelen van contracten",
                "het afhandelen van klachten bij de geschillencommissie",
                "het toetsen van marketingteksten",
                "de contractadministratie",
            ),
            "metric": (
                "de doorlooptijd van een contractreview",
                "het aantal geschillen",
                "het aantal verlopen contracten",
                "de tijd tot ondertekening",
            ),
            "thing": (
                "de nieuwe algemene voorwaarden",
                "het contractregister",
                "de training over mededingingsrecht",
                "de nieuwe telecomregels",
            ),
        },
        "en": {
            "process": (
                "contract review",
                "handling disputes",
                "checking marketing copy",
                "contract administration",
            ),
            "metric": (
                "contract review turnaround",
                "the number of disputes",
                "the number of expired contracts",
                "time to signature",
            ),
            "thing": (
                "the new terms and conditions",
                "the contract register",
                "the competition law training",
                "the new telecom rules",
            ),
        },
    },
    "Inkoop": {
        "nl": {
            "process": (
                "het aanvragen van offertes",
                "de beoordeling van leveranciers",
                "het beheer van raamcontracten",
                "het verwerken van inkooporders",
            ),
            "metric": (
                "de besparing op inkoop",
                "het aandeel bestellingen binnen contract",
                "de levertijd van leveranciers",
                "de doorlooptijd van een aanbesteding",
            ),
            "thing": (
                "de nieuwe inkoopvoorwaarden",
                "het leveranciersportaal",
                "de aanbesteding voor werkkleding",
                "het bundelen van kleine bestellingen",
            ),
        },
        "en": {
            "process": (
                "requesting quotes",
                "supplier evaluation",
                "managing framework contracts",
                "processing purchase orders",
            ),
            "metric": (
                "procurement savings",
                "the share of orders within contract",
                "supplier lead times",
                "tender turnaround time",
            ),
            "thing": (
                "the new purchasing terms",
                "the supplier portal",
                "the workwear tender",
                "bundling small orders",
            ),
        },
    },
    "Vastgoed & Bouw": {
        "nl": {
            "process": (
                "het melden van gebreken in kantoren",
                "het onderhoud van technische gebouwen",
                "het plannen van verbouwingen",
                "het beheer van huurcontracten",
            ),
            "metric": (
                "de bezetting van de werkplekken",
                "de onderhoudskosten per vierkante meter",
                "het aantal openstaande meldingen",
                "de oplevertijd van projecten",
            ),
            "thing": (
                "de herindeling van de kantoren",
                "het nieuwe werkplekreserveringssysteem",
                "de renovatie van de oude centrales",
                "de verhuizing naar kleinere kantoren",
            ),
        },
        "en": {
            "process": (
                "reporting faults in offices",
                "maintaining technical buildings",
                "planning refurbishments",
                "lease management",
            ),
            "metric": (
                "desk occupancy",
                "maintenance cost per square metre",
                "open facility requests",
                "project handover time",
            ),
            "thing": (
                "the office redesign",
                "the new desk booking system",
                "the renovation of the old exchanges",
                "the move to smaller offices",
            ),
        },
    },
}

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NamePool:
    heritage: str  # language spoken at home besides nl/en, "" if none
    first: tuple[str, ...]
    last: tuple[str, ...]


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


# Surnames are "|"-separated because Dutch ones contain spaces ("van der Linden").
NAME_POOLS: dict[str, _NamePool] = {
    "nl": _NamePool(
        "",
        _words(
            "Anouk Daan Sanne Bram Lotte Joris Femke Thijs Eva Ruben Iris Jeroen Marloes Sem "
            "Noor Wouter Fleur Koen Esther Maarten Lieke Niels Ilse Pieter Roos Stijn Merel "
            "Hidde Janneke Tim Marieke Gijs Anke Bas Floor Rik Inge Sjoerd Vera Jasper Saskia "
            "Hendrik Willemijn Lars Kim Dirk Yvonne Teun Mirjam Wessel Tessa Jelle Eline Freek "
            "Annelies Martijn Loes Job Nienke Huub"
        ),
        _words(
            "de Vries|Jansen|van den Berg|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|"
            "Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|de Graaf|"
            "van der Meer|van der Linden|Kok|Jacobs|de Haan|Vermeulen|van den Heuvel|"
            "van der Veen|van Dijk|Hoekstra|Koster|Prins|Huisman|Postma|Kuipers|Veenstra|"
            "Schouten|Willems|Claessens|Wijnands|Boersma|Timmermans|Groen|Sanders|Verhoeven|"
            "Maas|Hermans|Kramer|van Wijk|ter Horst|Scholten|Gerritsen",
            "|",
        ),
    ),
    "sr": _NamePool(
        "",
        _words("Ravi Shanti Anand Sunita Dwight Melissa Roy Shirley"),
        _words("Ramdin Sewdien Kanhai Jagesar Bisoendial Pinas Doelwijt Fung"),
    ),
    "tr": _NamePool(
        "tr",
        _words("Emre Elif Mehmet Zeynep Burak Özlem Kaan Aylin Serkan"),
        _words("Yılmaz Kaya Demir Şahin Çelik Aydın Öztürk Arslan"),
    ),
    "ma": _NamePool(
        "ar",
        _words("Youssef Fatima Mohamed Samira Karim Nadia Bilal Imane Hamza"),
        _words("El Amrani|Bouzid|Benali|Ouali|El Idrissi|Aziz|Haddou|Tahiri", "|"),
    ),
    "in": _NamePool(
        "hi",
        _words("Arjun Priya Rohan Ananya Vikram Sneha Karthik Deepa"),
        _words("Sharma Iyer Patel Reddy Nair Gupta Menon Rao"),
    ),
    "pl": _NamePool(
        "pl",
        _words("Piotr Agnieszka Tomasz Katarzyna Marek Magda Paweł Ewa"),
        # Gender-neutral surname forms, so any first name fits.
        _words("Nowak Kowalczyk Wójcik Mazur Krawczyk Kaczmarek Pawlak Dudek"),
    ),
    "es": _NamePool(
        "es",
        _words("Javier Lucía Carlos María Diego Carmen Pablo Elena"),
        _words("García Martínez López Fernández Romero Navarro Torres Ruiz"),
    ),
    "en": _NamePool(
        "",
        _words("James Emily Oliver Sophie Liam Hannah Ryan Chloe Sean"),
        _words("Walker Hughes O'Brien Murphy Bennett Clarke Turner Fletcher"),
    ),
    "de": _NamePool(
        "de",
        _words("Lukas Julia Jonas Katrin Felix Lena Tobias Miriam"),
        _words("Schneider Fischer Weber Becker Hoffmann Krüger Schmitt Wagner"),
    ),
    "pt": _NamePool(
        "pt",
        _words("João Ana Rafael Beatriz Tiago Mariana"),
        _words("Silva Santos Oliveira Costa Pereira Almeida"),
    ),
    "it": _NamePool(
        "it",
        _words("Marco Giulia Luca Chiara Matteo Francesca"),
        _words("Rossi Bianchi Romano Esposito Ricci Conti"),
    ),
    "fr": _NamePool(
        "fr",
        _words("Camille Julien Mathieu Élodie Antoine Claire"),
        _words("Dubois Laurent Moreau Lefèvre Girard Fontaine"),
    ),
    "ng": _NamePool(
        "",
        _words("Chinedu Ngozi Tunde Adaeze Emeka Funmi"),
        _words("Okafor Adeyemi Eze Balogun Nwosu Afolabi"),
    ),
    "cn": _NamePool(
        "zh",
        _words("Wei Mei Jun Xiaoling Hao Yan"),
        _words("Chen Wang Zhang Liu Huang Lin"),
    ),
}

# Who writes mainly Dutch mostly has a Dutch name; English writers are a more international mix.
NAME_ORIGINS: dict[str, tuple[tuple[str, int], ...]] = {
    "nl": (
        ("nl", 78),
        ("sr", 5),
        ("ma", 6),
        ("tr", 6),
        ("de", 1),
        ("pl", 1),
        ("in", 1),
        ("en", 1),
        ("es", 1),
    ),
    "en": (
        ("nl", 25),
        ("en", 12),
        ("in", 12),
        ("de", 8),
        ("es", 8),
        ("pl", 8),
        ("pt", 6),
        ("it", 6),
        ("fr", 5),
        ("ng", 4),
        ("cn", 4),
        ("tr", 2),
    ),
}

# (writing mode, main language, percentage of staff): 60% write mainly Dutch, 40% mainly
# English, and a fifth of everybody writes in both.
LANGUAGE_MODES: tuple[tuple[str, str, int], ...] = (
    ("nl", "nl", 50),
    ("en", "en", 30),
    ("both", "nl", 10),
    ("both", "en", 10),
)

# --------------------------------------------------------------------------------------------
# Calendar words and bios
# --------------------------------------------------------------------------------------------

MONTHS: dict[str, tuple[str, ...]] = {
    "nl": _words(
        "januari februari maart april mei juni juli augustus september oktober november december"
    ),
    "en": _words(
        "January February March April May June July August September October November December"
    ),
}

WEEKDAYS: dict[str, tuple[str, ...]] = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

PREVIOUS_EMPLOYERS: dict[str, tuple[str, ...]] = {
    "nl": (
        "een ingenieursbureau",
        "een gemeente",
        "een energiebedrijf",
        "een webwinkel",
        "een bank",
        "een accountantskantoor",
        "een woningcorporatie",
        "een callcenter",
        "een start-up",
        "de universiteit",
    ),
    "en": (
        "an engineering consultancy",
        "a city council",
        "an energy company",
        "an online retailer",
        "a bank",
        "an accountancy firm",
        "a housing association",
        "a call centre",
        "a start-up",
        "a university",
    ),
}

HOBBIES: dict[str, tuple[str, ...]] = {
    "nl": (
        "In mijn vrije tijd fiets ik graag door de polder.",
        "Op zondag sta ik op het hockeyveld.",
        "Ik bak zuurdesembrood voor het hele team.",
        "Naast mijn werk ben ik vrijwilliger bij de voetbalclub.",
        "Ik zing in een koor.",
        "Ik klus al jaren aan een oude woonboot.",
        "In het weekend zeil ik op het IJsselmeer.",
    ),
    "en": (
        "Outside work I run the occasional half marathon.",
        "I play board games with far too many rules.",
        "I bake sourdough for the whole team.",
        "I volunteer at a local football club.",
        "I sing in a choir.",
        "I am slowly restoring an old bicycle.",
        "Most weekends you will find me sailing on the IJsselmeer.",
    ),
}

CLOSERS: dict[str, tuple[str, ...]] = {
    "nl": (
        "Vragen? Stuur me gerust een bericht.",
        "Reacties en aanvullingen zijn welkom.",
        "Ik hoor graag jullie ervaringen.",
        "Meer details volgen in het teamoverleg.",
    ),
    "en": (
        "Questions? Just send me a message.",
        "Comments and additions are welcome.",
        "I would love to hear your experiences.",
        "More details will follow in the team meeting.",
    ),
}

# --------------------------------------------------------------------------------------------
# Generic posts (any department)
# --------------------------------------------------------------------------------------------

GENERIC_POSTS: dict[str, tuple[Template, ...]] = {
    "nl": (
        (
            "Nieuwe werkwijze voor {process} vanaf {month}",
            "Vanaf {month} pakken we {process} anders aan in {loc}. We leggen alles vast in "
            "{tool} in plaats van in losse mailtjes. In de proefperiode verbeterde {metric} "
            "met {pct}%.",
            ("werkwijze",),
        ),
        (
            "Terugblik {period}: {metric} in {loc}",
            "Korte terugblik op {period} voor {dept} in {loc}. Het goede nieuws: {metric} "
            "ontwikkelde zich beter dan verwacht, vooral dankzij {thing}. Dank aan {first} voor "
            "het vele uitzoekwerk.",
            ("terugblik",),
        ),
        (
            "Wie heeft ervaring met {tool} bij {process}?",
            "Ons team wil {tool} breder inzetten voor {process}. Ik zoek iemand die dat al doet "
            "en een halfuur wil sparren. Reageer hieronder of stuur me een bericht.",
            ("vraag",),
        ),
        (
            "Kennissessie over {thing} op {weekday} {day} {month}",
            "Op {weekday} {day} {month} houden we een kennissessie over {thing} op het kantoor "
            "in {city}. Er is plek voor {n10} collega's en er staat koffie klaar. Aanmelden kan "
            "via het intranet.",
            ("kennissessie",),
        ),
        (
            "Checklist voor {process}",
            "Ik heb een checklist van {n2} stappen gemaakt voor {process}. Daarmee voorkom je de "
            "meeste fouten die we het afgelopen jaar zagen. Je vindt hem in de teammap en "
            "feedback is welkom.",
            ("checklist",),
        ),
        (
            "Hoe regelen andere regio's {process}?",
            "In {loc} lopen we bij {process} steeds tegen dezelfde vertraging aan. Ik ben "
            "benieuwd hoe het team in {city} dit oplost. Gebruiken jullie {tool} of iets anders?",
            ("vraag",),
        ),
        (
            "{n2} lessen uit {thing}",
            "Het afgelopen halfjaar werkten we met {n10} mensen aan {thing}. De belangrijkste "
            "les: betrek de collega's uit de praktijk vanaf dag één. Een volledige evaluatie "
            "volgt voor eind {month}.",
            ("evaluatie",),
        ),
        (
            "Welkom aan de nieuwe collega's bij {dept} in {loc}",
            "Deze maand zijn er {n2} nieuwe collega's gestart bij {dept} in {loc}. Ze gaan "
            "vooral aan de slag met {thing}. Zeg gerust even hallo bij de koffieautomaat.",
            ("welkom",),
        ),
        (
            "Dashboard voor {metric} nu beschikbaar",
            "Vanaf vandaag kun je {metric} per week volgen in {tool}. Het dashboard toont ook de "
            "cijfers per regio, zodat {loc} en {city} goed te vergelijken zijn. Mis je iets, "
            "laat het dan weten.",
            ("dashboard",),
        ),
        (
            "Hulp gezocht bij {thing}",
            "Voor {thing} zoeken we tijdelijk versterking, ongeveer {n2} uur per week tot "
            "{month}. Het werk is goed te combineren met je eigen taken. Interesse? Stuur me "
            "een bericht, dan plannen we een kennismaking.",
            ("hulp-gezocht",),
        ),
    ),
    "en": (
        (
            "New way of working for {process} from {month}",
            "From {month} we handle {process} differently in {loc}. Everything goes into {tool} "
            "instead of scattered emails. During the trial, {metric} improved by {pct}%.",
            ("ways-of-working",),
        ),
        (
            "{period} review: {metric} in {loc}",
            "A short review of {period} for {dept} in {loc}. The good news is that {metric} "
            "developed better than expected, mostly thanks to {thing}. Big thanks to {first} "
            "for digging into the data.",
            ("review",),
        ),
        (
            "Anyone using {tool} for {process}?",
            "Our team wants to use {tool} more widely for {process}. I am looking for someone "
            "who already does this and has thirty minutes to compare notes. Reply below or send "
            "me a message.",
            ("question",),
        ),
        (
            "Knowledge session on {thing}, {weekday} {day} {month}",
            "On {weekday} {day} {month} we are hosting a knowledge session on {thing} at the "
            "{city} office. There is room for {n10} colleagues and the coffee will be ready. "
            "Sign up on the intranet.",
            ("knowledge-session",),
        ),
        (
            "A checklist for {process}",
            "I put together a {n2}-step checklist for {process}. It prevents most of the "
            "mistakes we saw over the past year. It is in the team folder and feedback is "
            "welcome.",
            ("checklist",),
        ),
        (
            "How do other regions handle {process}?",
            "In {loc} we keep running into the same delays with {process}. I am curious how the "
            "team in {city} deals with this. Do you use {tool} or something else?",
            ("question",),
        ),
        (
            "{n2} lessons from {thing}",
            "For the past six months {n10} of us worked on {thing}. The main lesson is to "
            "involve the people who do the actual work from day one. A full evaluation will "
            "follow before the end of {month}.",
            ("lessons-learned",),
        ),
        (
            "Welcome to the new colleagues in {dept}, {loc}",
            "This month {n2} new colleagues joined {dept} in {loc}. They will mostly work on "
            "{thing}. Feel free to say hello at the coffee machine.",
            ("welcome",),
        ),
        (
            "Dashboard for {metric} is live",
            "From today you can follow {metric} per week in {tool}. The dashboard also shows the "
            "figures per region, so {loc} and {city} are easy to compare. Tell me if anything "
            "is missing.",
            ("dashboard",),
        ),
        (
            "Looking for help with {thing}",
            "We need extra hands for {thing}, about {n2} hours a week until {month}. It "
            "combines well with your regular work. Interested? Send me a message and we will "
            "set up an intro.",
            ("help-wanted",),
        ),
    ),
}

DEPARTMENT_POSTS: dict[str, dict[str, tuple[Template, ...]]] = {
    "Netwerk & Techniek": {
        "nl": (
            (
                "Gepland onderhoud in de centrale van {city}",
                "Op {weekday} {day} {month} tussen 01:00 en 05:00 vervangen we {n2} routers in "
                "de centrale van {city}. Klanten merken maximaal {n10} minuten onderbreking. "
                "Het storingsteam is die nacht extra bezet.",
                ("onderhoud",),
            ),
            (
                "Storingsanalyse: uitval van de ring rond {city}",
                "Vorige week viel de ring rond {city} {n10} minuten uit door graafschade. Het "
                "verkeer schakelde om, maar één centrale had geen tweede route. Die route "
                "leggen we nu alsnog aan.",
                ("storing",),
            ),
        ),
        "en": (
            (
                "Planned maintenance at the {city} exchange",
                "On {weekday} {day} {month} between 01:00 and 05:00 we replace {n2} routers at "
                "the {city} exchange. Customers will see at most {n10} minutes of interruption. "
                "The incident team has extra people on shift that night.",
                ("maintenance",),
            ),
            (
                "Root cause: ring outage around {city}",
                "Last week the ring around {city} was down for {n10} minutes after a digger cut "
                "a cable. Traffic rerouted, but one exchange had no second path. We are now "
                "building that path.",
                ("incident",),
            ),
        ),
    },
    "Klantenservice": {
        "nl": (
            (
                "Drukte verwacht na de prijswijziging van {month}",
                "Na de brief over de prijswijziging verwachten we {pct}% meer telefoontjes. "
                "Teamleiders in {loc} plannen extra diensten in de avond. Wie wil ruilen, kan "
                "dat doorgeven aan {first}.",
                ("drukte",),
            ),
            (
                "Compliment van een klant uit {city}",
                "Een klant uit {city} belde speciaal terug om een collega te bedanken die haar "
                "internet op zaterdagavond weer aan de praat kreeg. Zulke reacties geven "
                "energie. Deel gerust je eigen mooie gesprekken hieronder.",
                ("compliment",),
            ),
        ),
        "en": (
            (
                "Expect more calls after the price change in {month}",
                "After the price change letter we expect {pct}% more calls. Team leads in {loc} "
                "are planning extra evening shifts. If you want to swap a shift, let {first} "
                "know.",
                ("workload",),
            ),
            (
                "A customer in {city} called back to say thanks",
                "A customer in {city} called back just to thank the agent who got her internet "
                "working again on a Saturday night. That kind of feedback keeps us going. Share "
                "your own good calls below.",
                ("kudos",),
            ),
        ),
    },
    "Winkels": {
        "nl": (
            (
                "Verbouwing van de winkel in {city} klaar",
                "De winkel in {city} is na {weeks} weken verbouwen weer open. Er is nu een "
                "aparte hoek voor reparaties en een tafel waar klanten toestellen kunnen "
                "uitproberen. Kom gerust een kijkje nemen.",
                ("verbouwing",),
            ),
            (
                "Tips voor de verkoop van abonnementen met toestel in {loc}",
                "In {loc} verkochten we vorige maand {n10} abonnementen met toestel, vooral aan "
                "studenten. Wat goed werkt: eerst vragen hoeveel data iemand echt gebruikt. "
                "Welke tips hebben jullie?",
                ("verkoop",),
            ),
        ),
        "en": (
            (
                "The {city} store reopens after its refurbishment",
                "After {weeks} weeks of building work the {city} store is open again. It now has "
                "a repair corner and a table where customers can try out devices. Drop by if you "
                "are in the area.",
                ("refurbishment",),
            ),
            (
                "Sales tips from {loc} for plans with a device",
                "Last month the {loc} store sold {n10} plans with a device, mostly to students. "
                "What works well is asking how much data someone really uses before suggesting a "
                "plan. What are your tips?",
                ("sales",),
            ),
        ),
    },
    "Field Service": {
        "nl": (
            (
                "Drukke week voor de monteurs in regio {loc}",
                "Deze week stonden er {n100} afspraken gepland voor de monteurs in regio {loc}. "
                "Door de harde wind kwamen er extra storingen tussendoor. Dank aan iedereen die "
                "is bijgesprongen.",
                ("planning",),
            ),
            (
                "Nieuwe meetkoffer voor de monteurs in {loc}",
                "Alle monteurs in {loc} krijgen voor {month} een nieuwe meetkoffer. Daarmee meet "
                "je in één keer de signaalsterkte en de wifi in huis. De uitleg staat in de "
                "NovaField-app.",
                ("gereedschap",),
            ),
        ),
        "en": (
            (
                "A busy week for the field engineers around {loc}",
                "This week {n100} appointments were scheduled for the engineers around {loc}. "
                "Strong winds added extra faults on top of that. Thanks to everyone who helped "
                "out.",
                ("planning",),
            ),
            (
                "New test kit for the field engineers in {loc}",
                "All engineers in {loc} get a new test kit before {month}. It measures signal "
                "strength and in-home Wi-Fi in one go. Instructions are in the NovaField app.",
                ("tools",),
            ),
        ),
    },
    "IT & Software": {
        "nl": (
            (
                "Release {ver} van KlantPortaal staat live",
                "Release {ver} van KlantPortaal is uitgerold. Klanten kunnen nu zelf hun "
                "wifi-naam wijzigen en een monteursafspraak verzetten. We hebben ook {n10} bugs "
                "opgelost die via de klantenservice binnenkwamen.",
                ("release",),
            ),
            (
                "Phishingtest: {pct}% klikte op de link",
                "Vorige maand stuurden we een nep-phishingmail naar alle collega's. Van de "
                "ontvangers klikte {pct}% op de link. Twijfel je over een mail, gebruik dan de "
                "meldknop in je mailprogramma.",
                ("security",),
            ),
        ),
        "en": (
            (
                "KlantPortaal release {ver} is live",
                "Release {ver} of KlantPortaal has shipped. Customers can now change their Wi-Fi "
                "name and reschedule an engineer visit themselves. We also fixed {n10} bugs that "
                "came in through customer service.",
                ("release",),
            ),
            (
                "Phishing test: {pct}% clicked the link",
                "Last month we sent a fake phishing email to all colleagues. Of the recipients, "
                "{pct}% clicked the link. If an email looks odd, use the report button in your "
                "mail client.",
                ("security",),
            ),
        ),
    },
    "Marketing": {
        "nl": (
            (
                "Campagne van {month}: eerste resultaten",
                "De campagne voor mobiele abonnementen is nu {n2} weken live. De klikratio ligt "
                "{pct}% boven het gemiddelde, vooral bij video. Volgende week volgen de "
                "resultaten per regio.",
                ("campagne",),
            ),
            (
                "Vernieuwde huisstijlrichtlijnen per {month}",
                "De vernieuwde huisstijlrichtlijnen staan in BrandKit. Er zijn nieuwe regels "
                "voor het logo op bedrijfsbusjes en in de winkels. Twijfel je, vraag het dan "
                "aan {first}.",
                ("huisstijl",),
            ),
        ),
        "en": (
            (
                "The {month} campaign: first results",
                "The campaign for mobile plans has been live for {n2} weeks. Click-through is "
                "{pct}% above average, mostly on video. Results per region follow next week.",
                ("campaign",),
            ),
            (
                "Updated brand guidelines from {month}",
                "The updated brand guidelines are in BrandKit. There are new rules for the logo "
                "on company vans and in the stores. When in doubt, ask {first}.",
                ("brand",),
            ),
        ),
    },
    "Data & Analytics": {
        "nl": (
            (
                "Nieuw churnmodel herkent {pct}% meer opzeggers",
                "Ons nieuwe churnmodel herkent {pct}% meer klanten die willen opzeggen dan het "
                "oude model. Klantenservice krijgt daarmee een lijst om proactief te bellen. We "
                "evalueren het model elke maand.",
                ("model",),
            ),
            (
                "Datacatalogus met {n100} tabellen: waar vind je wat?",
                "We hebben een datacatalogus met {n100} tabellen opgezet. Per tabel staat erin "
                "wie de eigenaar is en hoe vaak hij ververst. Mis je een tabel, meld het dan bij "
                "{first}.",
                ("datacatalogus",),
            ),
        ),
        "en": (
            (
                "The new churn model flags {pct}% more cancellations",
                "Our new churn model flags {pct}% more customers who are about to cancel than "
                "the old one. Customer service gets a list to call proactively. We review the "
                "model every month.",
                ("model",),
            ),
            (
                "A data catalogue with {n100} tables: where to find what",
                "We set up a data catalogue with {n100} tables. Each entry shows the owner and "
                "how often the table refreshes. If a table is missing, tell {first}.",
                ("data-catalogue",),
            ),
        ),
    },
    "HR": {
        "nl": (
            (
                "Nieuwe thuiswerkregeling per {month}",
                "Vanaf {month} geldt een nieuwe thuiswerkregeling met een hogere vergoeding per "
                "dag. Leidinggevenden bespreken de afspraken met hun team. De details staan in "
                "NovaHR.",
                ("thuiswerken",),
            ),
            (
                "Trainingsaanbod {year} staat klaar",
                "In LearnHub staat het trainingsaanbod voor {year}, met {n10} nieuwe cursussen. "
                "Populair zijn de cursussen over feedback geven en timemanagement. Inschrijven "
                "kan vanaf nu.",
                ("opleiding",),
            ),
        ),
        "en": (
            (
                "New hybrid working policy from {month}",
                "From {month} a new hybrid working policy applies, with a higher daily "
                "allowance. Managers will discuss the arrangements with their teams. The details "
                "are in NovaHR.",
                ("hybrid-working",),
            ),
            (
                "The {year} training catalogue is ready",
                "LearnHub now lists the {year} training catalogue with {n10} new courses. The "
                "courses on giving feedback and time management are filling up fast. You can "
                "sign up now.",
                ("training",),
            ),
        ),
    },
    "Financiën": {
        "nl": (
            (
                "Deadline voor de afsluiting van {period}",
                "De afsluiting van {period} loopt tot {weekday} {day} {month}. Facturen die later "
                "binnenkomen, boeken we in het volgende kwartaal. Let vooral op openstaande "
                "inkooporders in Orbit ERP.",
                ("afsluiting",),
            ),
            (
                "Declaraties voortaan binnen {n2} werkdagen uitbetaald",
                "Declaraties worden voortaan binnen {n2} werkdagen uitbetaald. Voorwaarde is wel "
                "dat de bon als foto in NovaPay staat. Papieren bonnetjes nemen we vanaf {month} "
                "niet meer aan.",
                ("declaraties",),
            ),
        ),
        "en": (
            (
                "Closing deadline for {period}",
                "The {period} close runs until {weekday} {day} {month}. Invoices that arrive "
                "later are booked in the next quarter. Please check open purchase orders in "
                "Orbit ERP.",
                ("closing",),
            ),
            (
                "Expense claims now paid within {n2} working days",
                "Expense claims are now paid within {n2} working days. The receipt does need to "
                "be uploaded as a photo in NovaPay. From {month} we no longer accept paper "
                "receipts.",
                ("expenses",),
            ),
        ),
    },
    "Juridisch": {
        "nl": (
            (
                "Nieuwe regels voor opzeggen per {month}",
                "Per {month} gelden nieuwe regels voor het opzeggen van abonnementen. Klanten "
                "moeten online net zo makkelijk kunnen opzeggen als afsluiten. We passen de "
                "teksten in KlantPortaal daarop aan.",
                ("regelgeving",),
            ),
            (
                "Standaardcontract voor opdrachten onder {eur} euro",
                "Er is een nieuw standaardcontract voor leveranciers met een opdracht onder {eur} "
                "euro. Het telt {n2} pagina's in plaats van twintig. Je vindt het in "
                "ContractBase.",
                ("contracten",),
            ),
        ),
        "en": (
            (
                "New cancellation rules from {month}",
                "From {month} new rules apply to cancelling subscriptions. Customers must be able "
                "to cancel online as easily as they signed up. We are updating the texts in "
                "KlantPortaal accordingly.",
                ("regulation",),
            ),
            (
                "A short standard contract for orders below {eur} euros",
                "There is a new standard contract for suppliers with orders below {eur} euros. "
                "It is {n2} pages long instead of twenty. You can find it in ContractBase.",
                ("contracts",),
            ),
        ),
    },
    "Inkoop": {
        "nl": (
            (
                "Nieuwe werkkleding voor monteurs vanaf {month}",
                "Monteurs krijgen vanaf {month} nieuwe werkkleding van een andere leverancier. "
                "De kleding is beter zichtbaar in het donker en gemaakt van gerecycled "
                "materiaal. Bestellen kan via Orbit ERP.",
                ("werkkleding",),
            ),
            (
                "Inkoopcijfers over {period}",
                "In {period} liep {pct}% van de bestellingen buiten de raamcontracten om. Dat "
                "kost ons korting en overzicht. Check voor je bestelt of er al een contract is "
                "in ContractBase.",
                ("inkoopcijfers",),
            ),
        ),
        "en": (
            (
                "New workwear for field engineers from {month}",
                "From {month} our engineers get new workwear from a different supplier. It is "
                "more visible in the dark and made from recycled material. You can order it "
                "through Orbit ERP.",
                ("workwear",),
            ),
            (
                "Procurement figures for {period}",
                "In {period}, {pct}% of all orders bypassed the framework contracts. That costs "
                "us discounts and visibility. Before you order, check ContractBase for an "
                "existing contract.",
                ("spend",),
            ),
        ),
    },
    "Vastgoed & Bouw": {
        "nl": (
            (
                "Verhuizing van het kantoor in {city}",
                "Het team in {city} verhuist in {month} naar een kleiner pand in het centrum. Er "
                "komen {n10} flexplekken en twee stilteruimtes. Verhuisdozen staan vanaf "
                "volgende week klaar.",
                ("verhuizing",),
            ),
            (
                "Onderhoud aan liften en klimaat in {city}",
                "Op {weekday} {day} {month} zijn de liften in het kantoor in {city} buiten "
                "gebruik voor onderhoud. Ook het klimaatsysteem wordt gecontroleerd. Houd "
                "rekening met een warme middag.",
                ("onderhoud",),
            ),
        ),
        "en": (
            (
                "The {city} office is moving",
                "In {month} the {city} team moves to a smaller building in the city centre. It "
                "will have {n10} flexible desks and two quiet rooms. Moving boxes are available "
                "from next week.",
                ("office-move",),
            ),
            (
                "Lift and climate maintenance in {city}",
                "On {weekday} {day} {month} the lifts in the {city} office are out of service "
                "for maintenance. The climate system is checked the same day. Expect a warm "
                "afternoon.",
                ("maintenance",),
            ),
        ),
    },
}

# --------------------------------------------------------------------------------------------
# Expertise topics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Topic:
    key: str
    departments: tuple[str, ...]  # first one is the most likely home of an expert
    holders: tuple[int, int]  # inclusive range of distinct experts
    # Writing modes that must be among the experts ("nl"/"en" only), so that e.g. an
    # English-only steel expert exists for the cross-lingual demo.
    required_modes: tuple[str, ...]
    skills: dict[str, tuple[str, ...]]
    bio: dict[str, tuple[str, ...]]
    tags: dict[str, tuple[str, ...]]
    posts: dict[str, tuple[Template, ...]]
    slots: Slots = field(default_factory=dict)
    lang_slots: dict[str, Slots] = field(default_factory=dict)


_SITES = (
    "DC Eindhoven-Noord",
    "DC Groningen-Zernike",
    "site ZWL-07",
    "site MST-12",
    "site UTR-03",
    "mast AMS-114",
    "mast DHG-38",
)
_MASTS = (
    "mast AMS-114",
    "mast DHG-38",
    "mast EHV-21",
    "mast GRN-09",
    "mast MST-12",
    "mast ZWL-44",
    "mast RTM-61",
)
_NEIGHBOURHOODS = (
    "Lombok (Utrecht)",
    "Selwerd (Groningen)",
    "Woensel-Noord (Eindhoven)",
    "Stadshagen (Zwolle)",
    "Charlois (Rotterdam)",
    "Wyck (Maastricht)",
    "Laak (Den Haag)",
    "Geuzenveld (Amsterdam)",
)
_STORES = (
    "Telenova Lijnbaan (Rotterdam)",
    "Telenova Herestraat (Groningen)",
    "Telenova Demer (Eindhoven)",
    "Telenova Diezerstraat (Zwolle)",
    "Telenova Grote Staat (Maastricht)",
    "Telenova Oudegracht (Utrecht)",
    "Telenova Kalverstraat (Amsterdam)",
    "Telenova Spuistraat (Den Haag)",
)

TOPICS: tuple[_Topic, ...] = (
    _Topic(
        key="staalbouw",
        departments=("Vastgoed & Bouw", "Netwerk & Techniek", "Inkoop"),
        holders=(5, 6),
        required_modes=("en", "nl", "nl", "nl"),
        skills={
            "nl": ("staalbouw", "staalconstructies", "constructieve veiligheid", "bouwtoezicht"),
            "en": (
                "steel construction",
                "steel frames",
                "structural engineering",
                "site supervision",
            ),
        },
        bio={
            "nl": (
                "Ik ben het aanspreekpunt voor staalbouw bij onze technische gebouwen en masten.",
                "Vraag me gerust iets over staalbouw, van liggers tot boutverbindingen.",
            ),
            "en": (
                "Ask me about steel construction for our exchanges and antenna masts.",
                "I review steel frames and structural drawings for our technical buildings.",
            ),
        },
        tags={"nl": ("staalbouw",), "en": ("steel-construction",)},
        slots={
            "site": _SITES,
            "profile": ("HEA 200", "HEB 240", "IPE 300", "HEA 160", "IPE 220"),
            "grade": ("S235", "S275", "S355"),
        },
        posts={
            "nl": (
                (
                    "Staalbouw voor {site}: wie denkt mee over de liggers?",
                    "Voor de uitbreiding van {site} komt er een staalconstructie van ongeveer "
                    "{n10} ton. We twijfelen tussen {profile} liggers en een vakwerkspant. Wie "
                    "heeft eerder staalbouw bij een technisch gebouw begeleid?",
                    ("vraag",),
                ),
                (
                    "Lessen uit de staalbouw bij {site}",
                    "De staalbouw bij {site} is klaar, {weeks} weken later dan gepland. De "
                    "levering van {grade} staal liep vertraging op en op twee dagen waaide het te "
                    "hard voor de kraan. Volgende keer bestellen we het staal al bij de "
                    "definitieve tekening.",
                    ("evaluatie",),
                ),
                (
                    "Checklist staalbouw in {n2} punten: coating, verzinken en bouten",
                    "Bij staalbouw voor technische ruimtes vergeten we vaak de brandwerende "
                    "coating. Ik heb een checklist van {n2} punten gemaakt voor verzinken, "
                    "coating en het aanhaalmoment van bouten. Handig als je de offerte van een "
                    "staalbouwer moet beoordelen.",
                    ("checklist",),
                ),
                (
                    "Stalen bordes op het dak van {site}",
                    "Op het dak van {site} plaatsen we een stalen bordes voor de nieuwe "
                    "apparatuurkasten. De constructeur rekent met {profile} profielen in {grade}. "
                    "Ik zoek een collega met staalbouw-ervaring die de tekeningen wil controleren.",
                    ("dak",),
                ),
                (
                    "Prijs per ton voor de staalbouw bij {site} loopt flink uiteen",
                    "We hebben {n2} offertes voor de staalbouw bij {site} naast elkaar gelegd. "
                    "Het verschil in prijs per ton was groter dan {pct} procent. Ik deel de "
                    "vergelijking graag met wie binnenkort zelf een staalbouwer zoekt.",
                    ("offertes",),
                ),
            ),
            "en": (
                (
                    "Steel frames for the {site} extension: who can review?",
                    "We are adding steel frames to {site}, roughly {n10} tonnes of {grade}. I am "
                    "looking for someone who has reviewed steel construction drawings for "
                    "equipment rooms. Coffee is on me.",
                    ("review",),
                ),
                (
                    "What we learned from the steel construction at {site}",
                    "The steel construction at {site} finished {weeks} weeks late. Delivery of "
                    "the {grade} beams slipped and high wind kept the crane grounded for two "
                    "days. Next time we order the steel as soon as the final drawings are signed.",
                    ("lessons-learned",),
                ),
                (
                    "Checking bolted connections in steel frames: a {n2}-step guide",
                    "Most snags on our steel construction projects are bolted connections that "
                    "were never torqued properly. I wrote a {n2}-step inspection guide that "
                    "covers torque, galvanising and fire-resistant coating. Use it when a "
                    "contractor hands over a site.",
                    ("inspection",),
                ),
                (
                    "Rooftop steel platform for the antenna cabinets at {site}",
                    "The roof at {site} needs a steel platform to carry the new antenna cabinets. "
                    "The structural engineer is working with {profile} sections in {grade}. If "
                    "you have handled steel construction on a roof before, please share your "
                    "experience.",
                    ("rooftop",),
                ),
                (
                    "Steel construction quotes for {site}: price per tonne compared",
                    "We compared {n2} quotes for the steel frames at {site}. The gap in price per "
                    "tonne was more than {pct} percent. Happy to share the spreadsheet with "
                    "anyone hiring a steel contractor.",
                    ("quotes",),
                ),
            ),
        },
    ),
    _Topic(
        key="modem",
        departments=("IT & Software", "Netwerk & Techniek", "Klantenservice"),
        holders=(4, 6),
        required_modes=("en", "nl"),
        skills={
            "nl": ("modemtesten", "firmware", "wifi-metingen", "testautomatisering"),
            "en": ("modem testing", "firmware validation", "Wi-Fi measurements", "test automation"),
        },
        bio={
            "nl": (
                "Ik test nieuwe modems en firmware voordat ze naar klanten gaan.",
                "Bij mij kun je terecht voor modemtests en firmware-updates.",
            ),
            "en": (
                "I test new modems and firmware before they reach customers.",
                "I run the home trials for our modem and firmware testing.",
            ),
        },
        tags={"nl": ("modem", "firmware"), "en": ("modem", "firmware")},
        slots={
            "modem": ("Nova Box 6", "Nova Box 6 Pro", "Nova Mesh Mini", "Nova Box 7"),
            "fw": ("v3.2.1", "v3.4.0-beta", "v4.0.0-rc2", "v4.1.3", "v3.9.7"),
        },
        posts={
            "nl": (
                (
                    "We zoeken testers voor het nieuwe modem: {n10} plekken voor de {modem}",
                    "Vanaf {month} testen we de {modem} bij collega's thuis. We zoeken {n10} "
                    "testers met glasvezel of kabel, het liefst in een huis met dikke muren. Je "
                    "krijgt het modem te leen en vult elke week een korte vragenlijst in.",
                    ("testers",),
                ),
                (
                    "Firmware {fw} voor de {modem}: bekende problemen",
                    "Firmware {fw} staat nu op {pct}% van de modems. Bij sommige klanten valt het "
                    "5 GHz-netwerk weg na de automatische herstart in de nacht. We hebben de "
                    "uitrol gepauzeerd tot de fix klaar is.",
                    ("storing",),
                ),
                (
                    "Testresultaten {modem} in {loc}: wifi-bereik in oude huizen",
                    "In ons testhuis in {loc} hebben we het bereik van de {modem} gemeten op {n2} "
                    "plekken. Op zolder haalde het modem nog {n100} Mbit/s. Met een extra "
                    "mesh-punt was dat bijna het dubbele.",
                    ("wifi",),
                ),
                (
                    "Testplan voor de {modem}: wat meten we precies?",
                    "Voor elke nieuwe firmware van de {modem} draaien we {n2} vaste modemtests: "
                    "opstarttijd, wifi-snelheid, tv en bellen via de telefoonpoort. Ik wil daar "
                    "een duurtest van 72 uur aan toevoegen. Wie heeft ideeën voor scenario's die "
                    "nu ontbreken?",
                    ("testplan",),
                ),
            ),
            "en": (
                (
                    "Looking for {n10} testers for the new {modem} modem",
                    "From {month} we are running a home trial of the {modem}. We need {n10} "
                    "colleagues on fibre or cable to test it for six weeks. You keep your current "
                    "subscription and fill in a short survey every week.",
                    ("testers",),
                ),
                (
                    "Firmware {fw} rollout paused on the {modem}",
                    "We paused firmware {fw} after it reached {pct}% of the modems. A small group "
                    "of customers lose the 5 GHz network after the nightly reboot. A fix is in "
                    "the modem test lab now.",
                    ("incident",),
                ),
                (
                    "Modem lab results from {loc}: Wi-Fi range of the {modem}",
                    "We measured the {modem} in {n2} rooms of our test house in {loc}. The attic "
                    "still reached {n100} Mbit/s over Wi-Fi. Adding one mesh point almost doubled "
                    "that.",
                    ("wifi",),
                ),
                (
                    "Automating our modem regression tests for the {modem}",
                    "Every firmware build for the {modem} now runs {n2} automated checks in the "
                    "lab: boot time, Wi-Fi throughput, TV and the phone port. The next step is a "
                    "72-hour soak test. Ideas for missing scenarios are welcome.",
                    ("test-automation",),
                ),
            ),
        },
    ),
    _Topic(
        key="kubernetes",
        departments=("IT & Software",),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("Kubernetes", "Helm", "Argo CD", "platform engineering"),
            "en": ("Kubernetes", "Helm", "Argo CD", "platform engineering"),
        },
        bio={
            "nl": ("Ik werk in het platformteam en beheer onze Kubernetes-clusters.",),
            "en": ("I am on the platform team and run our Kubernetes clusters.",),
        },
        tags={"nl": ("kubernetes", "platform"), "en": ("kubernetes", "platform")},
        slots={
            "cluster": ("prod-ams-1", "prod-ehv-2", "test-utr-1", "shared-platform"),
            "k8s": ("1.29", "1.30", "1.31"),
        },
        posts={
            "nl": (
                (
                    "Kubernetes-upgrade naar {k8s} op {cluster}",
                    "Op {weekday} {day} {month} upgraden we cluster {cluster} naar Kubernetes "
                    "{k8s}. Er draaien workloads van {n10} teams op dit cluster. Controleer vooraf "
                    "of je deployments geen verouderde API's gebruiken.",
                    ("upgrade",),
                ),
                (
                    "Zo vraag je een Kubernetes-namespace aan op {cluster}",
                    "Een nieuwe namespace vraag je aan met een pull request in de platform-repo. "
                    "Je krijgt standaard quota, een Argo CD-project en dashboards in Grafana. "
                    "Binnen {n2} werkdagen staat alles klaar.",
                    ("onboarding",),
                ),
                (
                    "Kubernetes-cluster {cluster} draait 's nachts met {pct}% minder nodes",
                    "Door autoscaling op {cluster} aan te zetten draaien we 's nachts met {pct}% "
                    "minder nodes. Dat scheelt ongeveer {eur} euro per maand. Teams die hun "
                    "resource requests te ruim instellen, krijgen een seintje.",
                    ("kosten",),
                ),
                (
                    "Postmortem: storing op Kubernetes-cluster {cluster}",
                    "Op {cluster} lag de ingress {n10} minuten plat door een verlopen "
                    "certificaat. De monitoring sloeg wel alarm, maar de melding kwam bij de "
                    "verkeerde groep terecht. Certificaten worden nu automatisch vernieuwd met "
                    "cert-manager.",
                    ("postmortem",),
                ),
            ),
            "en": (
                (
                    "Kubernetes {k8s} upgrade on {cluster}",
                    "On {weekday} {day} {month} we upgrade cluster {cluster} to Kubernetes {k8s}. "
                    "Workloads from {n10} teams run on this cluster. Please check beforehand that "
                    "your deployments do not use deprecated APIs.",
                    ("upgrade",),
                ),
                (
                    "How to request a Kubernetes namespace on {cluster}",
                    "You request a new namespace with a pull request in the platform repo. You "
                    "get default quotas, an Argo CD project and Grafana dashboards. Everything is "
                    "ready within {n2} working days.",
                    ("onboarding",),
                ),
                (
                    "Kubernetes cluster {cluster} now runs {pct}% fewer nodes at night",
                    "With autoscaling switched on for {cluster} we run {pct}% fewer nodes at "
                    "night. That saves about {eur} euros a month. Teams with oversized resource "
                    "requests will get a friendly nudge.",
                    ("cost",),
                ),
                (
                    "Postmortem: ingress outage on Kubernetes cluster {cluster}",
                    "The ingress on {cluster} was down for {n10} minutes because of an expired "
                    "certificate. Monitoring did fire, but the alert went to the wrong team. "
                    "Certificates are now renewed automatically by cert-manager.",
                    ("postmortem",),
                ),
            ),
        },
    ),
    _Topic(
        key="klantenservice-scripts",
        departments=("Klantenservice",),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("belscripts", "gespreksvoering", "kwaliteitsmonitoring", "coaching"),
            "en": ("call scripts", "call handling", "quality monitoring", "agent coaching"),
        },
        bio={
            "nl": ("Ik schrijf en test de belscripts die onze klantenservice gebruikt.",),
            "en": ("I write and test the call scripts our customer service agents use.",),
        },
        tags={"nl": ("belscript", "klantenservice"), "en": ("call-script", "customer-service")},
        lang_slots={
            "nl": {
                "scenario": (
                    "storingsmeldingen",
                    "verhuizingen",
                    "opzeggingen",
                    "vragen over de eerste factuur",
                    "klachten over de wifi-snelheid",
                ),
            },
            "en": {
                "scenario": (
                    "outage calls",
                    "home moves",
                    "cancellations",
                    "first-bill questions",
                    "complaints about Wi-Fi speed",
                ),
            },
        },
        posts={
            "nl": (
                (
                    "Nieuw belscript voor {scenario}",
                    "Vanaf {month} gebruiken we een nieuw belscript voor {scenario}. Het script "
                    "is korter en de medewerker vat aan het eind samen wat er is afgesproken. In "
                    "de pilot daalde het aantal herhaalcontacten met {pct}%.",
                    (),
                ),
                (
                    "Welke zin in het belscript voor {scenario} werkt niet?",
                    "Bij {scenario} horen we vaak dat klanten afhaken bij de "
                    "identificatievragen. Ik zoek voorbeelden uit jullie gesprekken van de "
                    "afgelopen weken. Dan herschrijven we dat stuk van het script samen.",
                    ("feedback",),
                ),
                (
                    "Script voor lastige gesprekken over {scenario}",
                    "Voor boze klanten bij {scenario} is er nu een apart script met drie stappen: "
                    "erkennen, uitleggen en afspreken. Teamleiders in {loc} hebben het {weeks} "
                    "weken getest. Het script staat in NovaDesk.",
                    ("de-escalatie",),
                ),
                (
                    "Belscript voor {scenario} nu ook in het Engels",
                    "Steeds meer bellers spreken geen Nederlands, vooral in {city}. Daarom hebben "
                    "we het script voor {scenario} vertaald naar het Engels. Wie helpt met een "
                    "laatste controle?",
                    ("engels",),
                ),
            ),
            "en": (
                (
                    "New call script for {scenario}",
                    "From {month} we use a new call script for {scenario}. It is shorter and the "
                    "agent summarises the agreed next steps at the end. In the pilot, repeat "
                    "contacts dropped by {pct}%.",
                    (),
                ),
                (
                    "Which line in our call script for {scenario} loses customers?",
                    "With {scenario} we often hear customers give up during the identification "
                    "questions. I am collecting examples from your calls over the past weeks. "
                    "Then we rewrite that part of the script together.",
                    ("feedback",),
                ),
                (
                    "A de-escalation script for {scenario}",
                    "For angry callers about {scenario} there is now a separate script with three "
                    "steps: acknowledge, explain and agree. Team leads in {loc} tested it for "
                    "{weeks} weeks. You can find the script in NovaDesk.",
                    ("de-escalation",),
                ),
                (
                    "Call script QA: how we score {scenario}",
                    "Every week we score {n10} recorded calls against the script for {scenario}. "
                    "The biggest gap is the summary at the end of the call. From {month} it "
                    "becomes a fixed part of agent coaching.",
                    ("quality",),
                ),
            ),
        },
    ),
    _Topic(
        key="recruitment",
        departments=("HR",),
        holders=(3, 4),
        required_modes=(),
        skills={
            "nl": ("werving en selectie", "recruitment", "arbeidsmarktcommunicatie", "referrals"),
            "en": ("recruitment", "talent acquisition", "employer branding", "referral programme"),
        },
        bio={
            "nl": ("Ik ben recruiter en help teams aan nieuwe collega's.",),
            "en": ("I am a recruiter and help teams hire new colleagues.",),
        },
        tags={"nl": ("vacatures", "recruitment"), "en": ("vacancies", "recruitment")},
        lang_slots={
            "nl": {
                "vacancy": (
                    "glasvezelmonteurs",
                    "data engineers",
                    "winkelmedewerkers",
                    "netwerkengineers",
                    "klantenservicemedewerkers",
                ),
                "bonus": ("500", "750", "1.000"),
            },
            "en": {
                "vacancy": (
                    "fibre technicians",
                    "data engineers",
                    "retail staff",
                    "network engineers",
                    "customer service agents",
                ),
                "bonus": ("500", "750", "1,000"),
            },
        },
        posts={
            "nl": (
                (
                    "Vacatures: we zoeken {n10} {vacancy}",
                    "Dit kwartaal zoeken we {n10} {vacancy}, vooral in de regio {loc}. Ken je "
                    "iemand die past? Via het referral-programma ontvang je {bonus} euro als je "
                    "kandidaat de proeftijd doorkomt.",
                    ("referral",),
                ),
                (
                    "Referral-bonus verhoogd voor {vacancy}",
                    "Omdat {vacancy} moeilijk te vinden zijn, verhogen we de referral-bonus "
                    "tijdelijk naar {bonus} euro. Vorig jaar kwam {pct}% van onze nieuwe "
                    "collega's binnen via een referral. Deel de vacatures dus gerust in je eigen "
                    "netwerk.",
                    ("referral",),
                ),
                (
                    "Banenmarkt in {city}: wie staat er mee op de stand?",
                    "Op {weekday} {day} {month} staan we op de banenmarkt in {city} om {vacancy} "
                    "te werven. We zoeken collega's die willen vertellen hoe het is om bij "
                    "Telenova te werken. Het kost je een middag.",
                    ("banenmarkt",),
                ),
                (
                    "Sneller reageren op sollicitaties van {vacancy}",
                    "Kandidaten wachten nu gemiddeld {n2} dagen op een eerste reactie. Dat is te "
                    "lang, want goede {vacancy} hebben meerdere aanbiedingen. Vanaf {month} belt "
                    "de recruiter binnen 48 uur terug.",
                    ("sollicitaties",),
                ),
            ),
            "en": (
                (
                    "Vacancies: we are hiring {n10} {vacancy}",
                    "This quarter we are hiring {n10} {vacancy}, mainly around {loc}. Do you know "
                    "someone who fits? Through the referral programme you receive {bonus} euros "
                    "once your candidate passes probation.",
                    ("referral",),
                ),
                (
                    "Higher referral bonus for {vacancy}",
                    "Because {vacancy} are hard to find, we are temporarily raising the referral "
                    "bonus to {bonus} euros. Last year {pct}% of our new colleagues came in "
                    "through a referral. So please share the vacancies in your own network.",
                    ("referral",),
                ),
                (
                    "Job fair in {city}: who joins us at the stand?",
                    "On {weekday} {day} {month} we are at the job fair in {city} to hire "
                    "{vacancy}. We are looking for colleagues who want to tell visitors what it "
                    "is like to work at Telenova. It will take one afternoon.",
                    ("job-fair",),
                ),
                (
                    "Responding faster to applications from {vacancy}",
                    "Candidates now wait {n2} days on average for a first reply. That is too "
                    "long, because good {vacancy} get several offers. From {month} the recruiter "
                    "calls back within 48 hours.",
                    ("applications",),
                ),
            ),
        },
    ),
    _Topic(
        key="nova1-connect",
        departments=("Marketing", "Klantenservice", "Netwerk & Techniek"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("Nova1 Connect", "zakelijke glasvezel", "SLA-afspraken", "B2B-verkoop"),
            "en": ("Nova1 Connect", "business fibre", "SLA management", "B2B sales"),
        },
        bio={
            "nl": ("Ik ben productspecialist voor Nova1 Connect, onze zakelijke glasvezel.",),
            "en": ("I am a product specialist for Nova1 Connect, our business fibre line.",),
        },
        tags={"nl": ("nova1-connect", "zakelijk"), "en": ("nova1-connect", "business")},
        slots={"bw": ("500 Mbit/s", "1 Gbit/s", "2 Gbit/s", "10 Gbit/s")},
        lang_slots={
            "nl": {
                "park": (
                    "bedrijventerrein Hoogveld",
                    "bedrijvenpark Kanaalzone",
                    "het Zernikepark",
                    "bedrijventerrein De Vaart",
                ),
            },
            "en": {
                "park": (
                    "the Hoogveld business park",
                    "the Kanaalzone business park",
                    "the Zernike science park",
                    "the De Vaart business park",
                ),
            },
        },
        posts={
            "nl": (
                (
                    "Nova1 Connect nu beschikbaar op {park}: al {n10} aanvragen",
                    "Vanaf deze maand kunnen bedrijven op {park} Nova1 Connect afnemen. Er zijn "
                    "al {n10} aanvragen binnen, vooral voor {bw}. Verkopers kunnen de nieuwe "
                    "beschikbaarheidscheck in het portaal gebruiken.",
                    ("lancering",),
                ),
                (
                    "SLA van Nova1 Connect: hersteltijd van {n2} uur uitgelegd",
                    "Klanten vragen vaak wat de hersteltijd is bij Nova1 Connect. Bij het "
                    "Plus-pakket is dat {n2} uur, ook in het weekend. Ik heb de antwoorden op de "
                    "meest gestelde vragen in de kennisbank gezet.",
                    ("sla",),
                ),
                (
                    "Nova1 Connect upgraden naar {bw}: zo werkt het",
                    "Een upgrade van Nova1 Connect naar {bw} kan zonder monteur, zolang de klant "
                    "de nieuwste router heeft. De nieuwe snelheid staat binnen {n2} werkdagen "
                    "actief. Let op: het contract loopt dan opnieuw twaalf maanden.",
                    ("upgrade",),
                ),
                (
                    "Eerste ervaringen van klanten met Nova1 Connect in {city}",
                    "We hebben {n10} zakelijke klanten in {city} gebeld over Nova1 Connect. De "
                    "meesten zijn blij met de stabiliteit, maar de installatie duurde gemiddeld "
                    "{weeks} weken. Dat willen we terugbrengen naar twee weken.",
                    ("klantfeedback",),
                ),
            ),
            "en": (
                (
                    "Nova1 Connect launches at {park} with {n10} requests",
                    "Businesses at {park} can now order Nova1 Connect. We already have {n10} "
                    "requests, mostly for {bw}. Sales can check availability in the new portal.",
                    ("launch",),
                ),
                (
                    "The Nova1 Connect SLA: a {n2}-hour repair time explained",
                    "The most common question about Nova1 Connect is the repair time. On the Plus "
                    "tier we promise a fix within {n2} hours, including weekends. I put the "
                    "answers to the top questions in the knowledge base.",
                    ("sla",),
                ),
                (
                    "Upgrading Nova1 Connect to {bw}",
                    "An upgrade of Nova1 Connect to {bw} does not need an engineer visit if the "
                    "customer has the latest router. The new speed is live within {n2} working "
                    "days. Note that the contract term restarts at twelve months.",
                    ("upgrade",),
                ),
                (
                    "Customer feedback on Nova1 Connect in {city}",
                    "We called {n10} business customers in {city} about Nova1 Connect. They like "
                    "the stability, but installation took {weeks} weeks on average. Our goal is "
                    "two weeks.",
                    ("feedback",),
                ),
            ),
        },
    ),
    _Topic(
        key="glasvezel",
        departments=("Netwerk & Techniek", "Field Service"),
        holders=(4, 6),
        required_modes=(),
        skills={
            "nl": ("glasvezel", "uitrolplanning", "graafvergunningen", "FTTH"),
            "en": ("fibre roll-out", "FTTH", "civil works planning", "permits"),
        },
        bio={
            "nl": (
                "Ik plan de uitrol van glasvezel in woonwijken, van vergunning tot aansluiting.",
            ),
            "en": ("I plan fibre roll-outs in residential areas, from permits to connection.",),
        },
        tags={"nl": ("glasvezel", "uitrol"), "en": ("fibre", "rollout")},
        slots={"wijk": _NEIGHBOURHOODS},
        posts={
            "nl": (
                (
                    "Glasvezel in {wijk}: {n100} adressen aangesloten",
                    "De uitrol van glasvezel in {wijk} ligt op schema. Deze week zijn er {n100} "
                    "adressen aangesloten en de vraagbundeling kwam uit op {pct_high}%. Bewoners "
                    "krijgen binnenkort een brief met hun installatiedatum.",
                    ("voortgang",),
                ),
                (
                    "Graafwerk voor glasvezel in {wijk} loopt vertraging op",
                    "In {wijk} liggen veel meer oude kabels in de grond dan de tekeningen lieten "
                    "zien. Daardoor schuift het graafwerk voor glasvezel {weeks} weken op. We "
                    "overleggen met de gemeente over extra werkdagen op zaterdag.",
                    ("vertraging",),
                ),
                (
                    "Tip: glasvezel aansluiten in de portiekflats van {wijk}",
                    "Bij portiekflats kost een glasvezelaansluiting vaak twee bezoeken. In {wijk} "
                    "hebben we eerst de hele trapopgang bekabeld en daarna pas de woningen "
                    "aangesloten. Dat scheelde ongeveer {pct}% monteursuren.",
                    ("tip",),
                ),
                (
                    "Planning glasvezeluitrol {year}: {n1000} adressen",
                    "Voor {year} staan er {n1000} adressen op de planning voor glasvezel, "
                    "verdeeld over {n2} gemeenten. De grootste projecten liggen rond {city}. Wie "
                    "een goed contact bij een gemeente heeft, hoor ik graag.",
                    ("planning",),
                ),
            ),
            "en": (
                (
                    "Fibre roll-out in {wijk}: {n100} homes connected",
                    "The fibre roll-out in {wijk} is on track. We connected {n100} homes this week "
                    "and take-up reached {pct_high}%. Residents will get a letter with their "
                    "installation date soon.",
                    ("progress",),
                ),
                (
                    "Fibre civil works in {wijk} delayed",
                    "We found far more old cables underground in {wijk} than the drawings showed. "
                    "Digging for the fibre network is now {weeks} weeks behind. We are asking the "
                    "municipality for extra Saturday shifts.",
                    ("delay",),
                ),
                (
                    "Connecting fibre in the walk-up flats of {wijk}: what worked",
                    "Walk-up flats usually need two visits for a fibre connection. In {wijk} we "
                    "cabled the whole stairwell first and then connected each flat. That saved "
                    "about {pct}% of engineer hours.",
                    ("tip",),
                ),
                (
                    "Fibre roll-out plan for {year}: {n1000} addresses",
                    "The {year} plan covers {n1000} addresses for fibre across {n2} "
                    "municipalities. The largest projects are around {city}. If you know someone "
                    "at a local council, please get in touch.",
                    ("planning",),
                ),
            ),
        },
    ),
    _Topic(
        key="5g",
        departments=("Netwerk & Techniek", "Vastgoed & Bouw", "Field Service"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("5G-antennes", "radioplanning", "antenne-installatie", "EMV-metingen"),
            "en": ("5G antennas", "radio planning", "antenna installation", "EMF measurements"),
        },
        bio={
            "nl": ("Ik werk aan de uitbreiding van ons 5G-netwerk, van locatie tot antenne.",),
            "en": ("I work on our 5G antenna sites, from site acquisition to installation.",),
        },
        tags={"nl": ("5g", "antennes"), "en": ("5g", "antennas")},
        slots={"mast": _MASTS},
        lang_slots={
            "nl": {"band": ("3,5 GHz", "700 MHz", "26 GHz")},
            "en": {"band": ("3.5 GHz", "700 MHz", "26 GHz")},
        },
        posts={
            "nl": (
                (
                    "Nieuwe 5G-antennes op {band} in gebruik op {mast}",
                    "Sinds deze week zenden de nieuwe 5G-antennes op {mast} uit op {band}. De "
                    "gemiddelde downloadsnelheid in de buurt steeg met {pct}%. Er volgen nog {n2} "
                    "masten in dezelfde regio.",
                    ("uitrol",),
                ),
                (
                    "Bewoners in {city} hebben vragen over de 5G-antenne",
                    "Op een informatieavond in {city} kwamen {n10} bewoners vragen stellen over de "
                    "nieuwe 5G-antenne. De meeste vragen gingen over straling, en de EMV-metingen "
                    "zitten ruim onder de norm. Ik deel de presentatie graag met wie zo'n avond "
                    "moet organiseren.",
                    ("omgeving",),
                ),
                (
                    "Antennewissel op {mast}: planning en veiligheid",
                    "Op {weekday} {day} {month} wisselen we de antennes op {mast} voor 5G. Het "
                    "werk gebeurt 's nachts, zodat de dekking overdag blijft. Klimmers moeten hun "
                    "certificaat vooraf uploaden in de planningstool.",
                    ("planning",),
                ),
                (
                    "Dekkingstest 5G op {band} rond {mast}",
                    "We hebben met een meetauto {n10} kilometer rond {mast} gereden. Op {band} "
                    "haalden we binnen twee kilometer overal meer dan {n100} Mbit/s. Binnenshuis "
                    "valt het nog tegen, daar kijken we naar extra small cells voor 5G.",
                    ("metingen",),
                ),
            ),
            "en": (
                (
                    "New 5G antennas on {band} live on {mast}",
                    "Since this week the new 5G antennas on {mast} are transmitting on {band}. "
                    "Average download speed in the area went up by {pct}%. Another {n2} masts in "
                    "the same region will follow.",
                    ("rollout",),
                ),
                (
                    "Residents in {city} have questions about the 5G antenna",
                    "At an information evening in {city}, {n10} residents came with questions "
                    "about the new 5G antenna. Most questions were about radiation, and the EMF "
                    "measurements are well below the limit. I am happy to share the slides with "
                    "anyone organising a similar evening.",
                    ("community",),
                ),
                (
                    "Antenna swap on {mast}: schedule and safety",
                    "On {weekday} {day} {month} we swap the antennas on {mast} for 5G. The work "
                    "happens at night so coverage stays up during the day. Climbers must upload "
                    "their certificate to the planning tool beforehand.",
                    ("planning",),
                ),
                (
                    "5G drive test on {band} around {mast}",
                    "We drove a measurement car for {n10} kilometres around {mast}. On {band} we "
                    "got more than {n100} Mbit/s everywhere within two kilometres. Indoor coverage "
                    "is still weak, so we are looking at extra 5G small cells.",
                    ("measurements",),
                ),
            ),
        },
    ),
    _Topic(
        key="avg",
        departments=("Juridisch", "IT & Software", "HR"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("AVG", "privacyrecht", "DPIA", "verwerkersovereenkomsten"),
            "en": ("GDPR", "privacy law", "DPIA", "data processing agreements"),
        },
        bio={
            "nl": ("Ik adviseer over de AVG en privacy bij nieuwe systemen en leveranciers.",),
            "en": ("I advise on GDPR and privacy for new systems and suppliers.",),
        },
        tags={"nl": ("avg", "privacy"), "en": ("gdpr", "privacy")},
        slots={"system": ("NovaDesk", "KlantPortaal", "NovaHR", "NovaField")},
        lang_slots={
            "nl": {"period_keep": ("zes maanden", "twee jaar", "zeven jaar")},
            "en": {"period_keep": ("six months", "two years", "seven years")},
        },
        posts={
            "nl": (
                (
                    "AVG: bewaartermijnen in {system} aangepast",
                    "We hebben de bewaartermijnen voor persoonsgegevens in {system} opnieuw "
                    "vastgesteld volgens de AVG. Notities worden nu na {period_keep} automatisch "
                    "verwijderd. Heb je een goede reden om gegevens langer te bewaren, laat het "
                    "dan voor {month} weten.",
                    ("bewaartermijnen",),
                ),
                (
                    "AVG en DPIA: een beslisboom in {n2} vragen",
                    "Een DPIA is verplicht als je op grote schaal persoonsgegevens verwerkt of "
                    "nieuwe technologie inzet. Denk aan locatiegegevens van monteurs of "
                    "spraakanalyse bij de klantenservice. Ik heb een beslisboom van {n2} vragen "
                    "gemaakt en op het intranet gezet.",
                    ("dpia",),
                ),
                (
                    "Datalek in {system}: wat we ervan leerden",
                    "Vorige maand ging er een bestand met {n100} klantnamen uit {system} naar de "
                    "verkeerde leverancier. We hebben het binnen 72 uur gemeld bij de "
                    "toezichthouder, zoals de AVG vraagt. De les: deel bestanden via een "
                    "beveiligde link en niet als bijlage.",
                    ("datalek",),
                ),
                (
                    "AVG-model verwerkersovereenkomst ingekort tot {n2} pagina's",
                    "Elke leverancier die persoonsgegevens voor ons verwerkt, moet een "
                    "verwerkersovereenkomst tekenen. We hebben het model vereenvoudigd tot {n2} "
                    "pagina's. Inkopers kunnen het direct gebruiken bij nieuwe contracten.",
                    ("contracten",),
                ),
            ),
            "en": (
                (
                    "GDPR: new retention periods in {system}",
                    "We have reset the retention periods for personal data in {system} in line "
                    "with the GDPR. Notes are now deleted automatically after {period_keep}. If "
                    "you have a good reason to keep data longer, let me know before {month}.",
                    ("retention",),
                ),
                (
                    "GDPR: a {n2}-question decision tree for DPIAs",
                    "A DPIA is required when you process personal data at scale or use new "
                    "technology. Think of location data from field engineers or speech analytics "
                    "in customer service. I made a {n2}-question decision tree and put it on the "
                    "intranet.",
                    ("dpia",),
                ),
                (
                    "Data breach in {system}: what we learned",
                    "Last month a file with {n100} customer names from {system} was sent to the "
                    "wrong supplier. We reported it to the regulator within 72 hours, as the GDPR "
                    "requires. The lesson is to share files through a secure link, not as an "
                    "attachment.",
                    ("data-breach",),
                ),
                (
                    "GDPR data processing agreement cut to {n2} pages",
                    "Every supplier that processes personal data for us must sign a data "
                    "processing agreement. We cut the template down to {n2} pages. Buyers can use "
                    "it right away for new contracts.",
                    ("contracts",),
                ),
            ),
        },
    ),
    _Topic(
        key="power-bi",
        departments=("Financiën", "Data & Analytics", "Inkoop"),
        holders=(4, 6),
        required_modes=(),
        skills={
            "nl": ("Excel", "Power BI", "DAX", "rapportages"),
            "en": ("Excel", "Power BI", "DAX", "reporting"),
        },
        bio={
            "nl": ("Ik bouw rapportages in Excel en Power BI voor het management.",),
            "en": ("I build Excel and Power BI reporting for management.",),
        },
        tags={"nl": ("power-bi", "excel"), "en": ("power-bi", "excel")},
        lang_slots={
            "nl": {
                "report": (
                    "het maandrapport omzet",
                    "de kostenrapportage per regio",
                    "het inkoopdashboard",
                    "de rapportage openstaande facturen",
                ),
            },
            "en": {
                "report": (
                    "the monthly revenue report",
                    "the cost report per region",
                    "the procurement dashboard",
                    "the open invoices report",
                ),
            },
        },
        posts={
            "nl": (
                (
                    "{report} verhuist per {month} van Excel naar Power BI",
                    "Vanaf {month} staat {report} in Power BI in plaats van in een Excel-bestand "
                    "met {n10} tabbladen. De cijfers verversen elke nacht automatisch. De oude "
                    "Excel-versies blijven nog drie maanden beschikbaar.",
                    ("migratie",),
                ),
                (
                    "Excel-tip voor {report}: X.ZOEKEN in plaats van VERT.ZOEKEN",
                    "Veel collega's gebruiken nog VERT.ZOEKEN in Excel. Met X.ZOEKEN hoef je geen "
                    "kolomnummer meer te tellen en kun je ook naar links zoeken. In {report} "
                    "scheelde dat {n10} formules.",
                    ("tip",),
                ),
                (
                    "Power BI-workshop voor beginners in {city}",
                    "Op {weekday} {day} {month} geef ik een Power BI-workshop in {city}. We "
                    "bouwen samen een rapport op basis van {report}. Er is plek voor {n10} "
                    "mensen, dus neem je laptop mee.",
                    ("workshop",),
                ),
                (
                    "Waarom de cijfers in {report} niet klopten: {n10} creditnota's dubbel",
                    "Een aantal collega's vroeg waarom {report} andere totalen gaf dan Orbit ERP. "
                    "De oorzaak: {n10} creditnota's werden in het Power BI-model dubbel geteld. "
                    "Het datamodel is aangepast en de cijfers zijn met terugwerkende kracht "
                    "gecorrigeerd.",
                    ("datakwaliteit",),
                ),
            ),
            "en": (
                (
                    "{report} moves from Excel to Power BI in {month}",
                    "From {month}, {report} lives in Power BI instead of an Excel file with {n10} "
                    "tabs. The figures refresh automatically every night. The old Excel versions "
                    "stay available for three more months.",
                    ("migration",),
                ),
                (
                    "Excel tip for {report}: XLOOKUP instead of VLOOKUP",
                    "Many colleagues still use VLOOKUP in Excel. With XLOOKUP you no longer count "
                    "column numbers and you can look to the left as well. In {report} it "
                    "replaced {n10} formulas.",
                    ("tip",),
                ),
                (
                    "Power BI workshop for beginners in {city}",
                    "On {weekday} {day} {month} I am running a Power BI workshop in {city}. "
                    "Together we build a report based on {report}. There is room for {n10} "
                    "people, so bring your laptop.",
                    ("workshop",),
                ),
                (
                    "Why the numbers in {report} were off: {n10} credit notes counted twice",
                    "Several colleagues asked why {report} showed different totals than Orbit "
                    "ERP. The cause was that {n10} credit notes were counted twice in the Power BI "
                    "model. The data model is fixed and the figures have been corrected "
                    "retroactively.",
                    ("data-quality",),
                ),
            ),
        },
    ),
    _Topic(
        key="python-pipelines",
        departments=("Data & Analytics", "IT & Software"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("Python", "datapipelines", "Airflow", "pandas", "dbt"),
            "en": ("Python", "data pipelines", "Airflow", "pandas", "dbt"),
        },
        bio={
            "nl": ("Ik bouw en onderhoud onze datapipelines in Python en Airflow.",),
            "en": ("I build and maintain our Python data pipelines.",),
        },
        tags={"nl": ("python", "data-pipeline"), "en": ("python", "data-pipeline")},
        slots={
            "pipeline": ("usage_daily", "churn_features", "network_kpis", "billing_events"),
        },
        posts={
            "nl": (
                (
                    "Python-pipeline `{pipeline}` in Airflow: van {n10} naar {n2} minuten",
                    "De Python-pipeline `{pipeline}` draaide jarenlang als cronjob op één server. "
                    "Vanaf nu draait hij in Airflow, met retries en alerts. De doorlooptijd ging "
                    "van {n10} naar {n2} minuten.",
                    ("airflow",),
                ),
                (
                    "Python-codereview voor datapipelines: {n2} reviewers gezocht",
                    "We willen vaste codereviews voor onze datapipelines in Python. Ik zoek {n2} "
                    "collega's die elke week een pull request willen bekijken. Ervaring met "
                    "pandas of Polars is handig maar niet nodig.",
                    ("codereview",),
                ),
                (
                    "Datakwaliteitstests in de pipeline `{pipeline}`",
                    "In `{pipeline}` zaten {n100} dubbele records door een fout in de "
                    "bronkoppeling. De Python-pipeline test nu bij elke run op unieke sleutels en "
                    "lege velden. Als een test faalt, stopt de pipeline en krijgt het team een "
                    "melding.",
                    ("datakwaliteit",),
                ),
                (
                    "Van pandas naar Polars in `{pipeline}`: {pct}% minder geheugen",
                    "Voor de pipeline `{pipeline}` hebben we pandas vervangen door Polars. Het "
                    "geheugengebruik daalde met {pct}% en de job is bijna twee keer zo snel. De "
                    "Python-code verandert wel flink, dus plan tijd in voor het omzetten.",
                    ("performance",),
                ),
            ),
            "en": (
                (
                    "The `{pipeline}` Python pipeline in Airflow: from {n10} to {n2} minutes",
                    "The `{pipeline}` Python pipeline ran as a cron job on a single server for "
                    "years. It now runs in Airflow with retries and alerts. Run time dropped from "
                    "{n10} to {n2} minutes.",
                    ("airflow",),
                ),
                (
                    "Python code reviews for data pipelines: {n2} reviewers wanted",
                    "We want regular code reviews for our Python data pipelines. I am looking for "
                    "{n2} colleagues who will review one pull request a week. Experience with "
                    "pandas or Polars helps but is not required.",
                    ("code-review",),
                ),
                (
                    "Data quality tests in the `{pipeline}` pipeline",
                    "The `{pipeline}` table had {n100} duplicate records because of a bug in the "
                    "source connector. The Python pipeline now checks unique keys and empty "
                    "fields on every run. When a test fails, the pipeline stops and the team gets "
                    "an alert.",
                    ("data-quality",),
                ),
                (
                    "From pandas to Polars in `{pipeline}`: {pct}% less memory",
                    "In the `{pipeline}` pipeline we replaced pandas with Polars. Memory use went "
                    "down by {pct}% and the job is almost twice as fast. The Python code changes "
                    "quite a bit, so plan time for the rewrite.",
                    ("performance",),
                ),
            ),
        },
    ),
    _Topic(
        key="duurzaamheid",
        departments=("Vastgoed & Bouw", "Inkoop", "Netwerk & Techniek"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("duurzaamheid", "zonnepanelen", "energiebesparing", "CO2-rapportage"),
            "en": ("sustainability", "solar panels", "energy efficiency", "carbon reporting"),
        },
        bio={
            "nl": ("Ik werk aan het verduurzamen van onze kantoren en technische gebouwen.",),
            "en": ("I work on making our offices and technical buildings more sustainable.",),
        },
        tags={"nl": ("duurzaamheid", "energie"), "en": ("sustainability", "energy")},
        posts={
            "nl": (
                (
                    "Zonnepanelen op het kantoor in {city}",
                    "Op het dak van het kantoor in {city} liggen sinds deze maand {n100} "
                    "zonnepanelen. Ze leveren naar verwachting {pct}% van het stroomverbruik van "
                    "het gebouw. De opbrengst is live te volgen op het scherm in de hal.",
                    ("zonnepanelen",),
                ),
                (
                    "Duurzaamheid in de centrales: koeling {n2} graden hoger",
                    "De koeling in onze centrales is goed voor een flink deel van het "
                    "energieverbruik. Door de temperatuur {n2} graden hoger in te stellen, "
                    "besparen we veel stroom zonder risico voor de apparatuur. We beginnen met "
                    "{n10} locaties.",
                    ("koeling",),
                ),
                (
                    "CO2-rapportage {prev_year}: waar staan we met duurzaamheid?",
                    "Onze uitstoot daalde in {prev_year} met {pct}% ten opzichte van het jaar "
                    "ervoor. De grootste winst kwam van elektrische busjes voor de monteurs. Het "
                    "lastigste blijft het energieverbruik van het netwerk zelf.",
                    ("co2",),
                ),
                (
                    "Duurzaam inkopen vanaf {month}: nieuwe eisen voor leveranciers",
                    "Vanaf {month} vragen we bij elke aanbesteding naar de CO2-voetafdruk van het "
                    "product. Leveranciers met een duidelijk reductieplan scoren hoger. Inkopers "
                    "krijgen hiervoor een training van {n2} uur.",
                    ("inkoop",),
                ),
            ),
            "en": (
                (
                    "Solar panels on the {city} office",
                    "Since this month there are {n100} solar panels on the roof of the {city} "
                    "office. They should cover about {pct}% of the building's electricity use. "
                    "You can follow the output live on the screen in the lobby.",
                    ("solar",),
                ),
                (
                    "Sustainability in the exchanges: cooling set {n2} degrees higher",
                    "Cooling in our exchanges accounts for a large share of our energy use. By "
                    "raising the set point by {n2} degrees we save a lot of power without risk to "
                    "the equipment. We are starting with {n10} sites.",
                    ("cooling",),
                ),
                (
                    "Carbon report {prev_year}: where are we on sustainability?",
                    "Our emissions fell by {pct}% in {prev_year} compared with the year before. "
                    "The biggest gain came from electric vans for the field engineers. The "
                    "hardest part is still the energy use of the network itself.",
                    ("carbon",),
                ),
                (
                    "Sustainable procurement from {month}: new supplier requirements",
                    "From {month} every tender asks for the carbon footprint of the product. "
                    "Suppliers with a clear reduction plan score higher. Buyers get a {n2}-hour "
                    "training on this.",
                    ("procurement",),
                ),
            ),
        },
    ),
    _Topic(
        key="innovatie",
        departments=("Marketing", "IT & Software", "Netwerk & Techniek", "Data & Analytics"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("innovatie", "design thinking", "prototypen", "hackathons"),
            "en": ("innovation", "design thinking", "prototyping", "hackathons"),
        },
        bio={
            "nl": ("Ik begeleid innovatieprojecten van eerste idee tot pilot.",),
            "en": ("I coach innovation projects from first idea to pilot.",),
        },
        tags={"nl": ("innovatie",), "en": ("innovation",)},
        lang_slots={
            "nl": {
                "idea": (
                    "een AI-assistent voor monteurs",
                    "het voorspellen van storingen",
                    "een app om wifi met de buren te delen",
                    "zelfinstallatie met videobegeleiding",
                    "sensoren in straatkasten",
                ),
            },
            "en": {
                "idea": (
                    "an AI assistant for field engineers",
                    "predicting outages",
                    "an app for sharing Wi-Fi with the neighbours",
                    "video-guided self-installation",
                    "sensors in street cabinets",
                ),
            },
        },
        posts={
            "nl": (
                (
                    "Innovatiedag {year} in {city}: dien je idee in",
                    "Op de innovatiedag in {city} krijgen {n2} teams een dag om een idee uit te "
                    "werken. Vorig jaar won het idee voor {idea}. Ideeën indienen kan tot eind "
                    "{month}.",
                    ("innovatiedag",),
                ),
                (
                    "Hackathon in {city}: prototype voor {idea}",
                    "Tijdens de hackathon in {city} bouwde een team van {n2} collega's een "
                    "prototype voor {idea}. De eerste test met {n10} collega's was positief. We "
                    "zoeken nu een "
                    "sponsor om er een echte innovatiepilot van te maken.",
                    ("hackathon",),
                ),
                (
                    "Innovatie zonder groot budget: tot {eur} euro uit het fonds",
                    "Veel goede ideeën stranden omdat er geen budget is. Daarom is er nu een "
                    "innovatiefonds waar teams tot {eur} euro kunnen aanvragen voor een "
                    "experiment van maximaal {weeks} weken. Het eerste gehonoreerde idee ging "
                    "over {idea}.",
                    ("innovatiefonds",),
                ),
                (
                    "Innovatiepilot gestart in {loc}: {idea}",
                    "Deze maand start in {loc} een pilot met {idea}. We meten {weeks} weken lang "
                    "of het tijd scheelt en wat klanten ervan vinden. De resultaten delen we op "
                    "de volgende innovatiedag.",
                    ("pilot",),
                ),
            ),
            "en": (
                (
                    "Innovation day {year} in {city}: submit your idea",
                    "At the innovation day in {city}, {n2} teams get a full day to work out an "
                    "idea. Last year the winner was {idea}. You can submit ideas until the end of "
                    "{month}.",
                    ("innovation-day",),
                ),
                (
                    "Hackathon in {city}: a prototype for {idea}",
                    "During the hackathon in {city} a team of {n2} colleagues built a prototype "
                    "for {idea}. The first test with {n10} colleagues was positive. We are now "
                    "looking for a "
                    "sponsor to turn it into a real innovation pilot.",
                    ("hackathon",),
                ),
                (
                    "Innovation without a big budget: up to {eur} euros from the fund",
                    "Many good ideas die because there is no budget. That is why there is now an "
                    "innovation fund where teams can apply for up to {eur} euros for an "
                    "experiment of at most {weeks} weeks. The first funded idea was {idea}.",
                    ("innovation-fund",),
                ),
                (
                    "Innovation pilot started in {loc}: {idea}",
                    "This month a pilot with {idea} starts in {loc}. For {weeks} weeks we measure "
                    "whether it saves time and what customers think of it. We will share the "
                    "results at the next innovation day.",
                    ("pilot",),
                ),
            ),
        },
    ),
    _Topic(
        key="inkoop-netwerk",
        departments=("Inkoop", "Netwerk & Techniek"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("inkoop netwerkapparatuur", "contractmanagement", "aanbestedingen"),
            "en": ("network equipment procurement", "contract management", "tendering"),
        },
        bio={
            "nl": ("Ik koop netwerkapparatuur in en onderhandel met onze leveranciers.",),
            "en": ("I buy network equipment and negotiate with our vendors.",),
        },
        tags={"nl": ("inkoop", "netwerkapparatuur"), "en": ("procurement", "network-equipment")},
        # Fictional vendors: the demo must not name real companies.
        slots={
            "vendor": (
                "Norvik Networks",
                "Altavia Systems",
                "Brightwave Optics",
                "Kestrel Radio",
                "Meridian Transmit",
            ),
        },
        lang_slots={
            "nl": {
                "gear": (
                    "core-routers",
                    "optische transceivers",
                    "DWDM-apparatuur",
                    "switches voor straatkasten",
                    "radio-units voor 5G",
                ),
            },
            "en": {
                "gear": (
                    "core routers",
                    "optical transceivers",
                    "DWDM equipment",
                    "street cabinet switches",
                    "5G radio units",
                ),
            },
        },
        posts={
            "nl": (
                (
                    "Aanbesteding voor {gear} gestart",
                    "We zijn een aanbesteding gestart voor {gear} voor de komende {n2} jaar. "
                    "Naast de prijs wegen we levertijd, energieverbruik en support mee. "
                    "Netwerkengineers die willen meedenken over de eisen, kunnen zich bij mij "
                    "melden.",
                    ("aanbesteding",),
                ),
                (
                    "Levertijd van {gear} bij {vendor} loopt op",
                    "{vendor} meldt dat de levertijd voor {gear} is opgelopen naar {weeks} weken. "
                    "Projecten die dit jaar nog netwerkapparatuur nodig hebben, moeten hun "
                    "bestelling voor {month} doorgeven. We kijken ook naar een tweede leverancier.",
                    ("levertijden",),
                ),
                (
                    "Raamcontract met {vendor} verlengd",
                    "Het raamcontract met {vendor} voor {gear} is verlengd met {n2} jaar. We "
                    "kregen {pct}% extra korting in ruil voor een hogere afnamegarantie. "
                    "Bestellen gaat zoals altijd via Orbit ERP.",
                    ("contract",),
                ),
                (
                    "Nog {n100} stuks {gear} op voorraad",
                    "In het centrale magazijn liggen nog {n100} stuks {gear} uit eerdere "
                    "bestellingen. Check de voorraadlijst voordat je nieuwe netwerkapparatuur "
                    "bestelt. Dat voorkomt dubbele inkoop.",
                    ("voorraad",),
                ),
            ),
            "en": (
                (
                    "Tender for {gear} has started",
                    "We have started a tender for {gear} for the next {n2} years. Besides price we "
                    "weigh lead time, power consumption and support. Network engineers who want "
                    "to help shape the requirements can get in touch with me.",
                    ("tender",),
                ),
                (
                    "Lead times for {gear} from {vendor} are growing",
                    "{vendor} reports that the lead time for {gear} has grown to {weeks} weeks. "
                    "Projects that still need network equipment this year should place their "
                    "order before {month}. We are also looking at a second vendor.",
                    ("lead-times",),
                ),
                (
                    "Framework contract with {vendor} extended",
                    "The framework contract with {vendor} for {gear} has been extended by {n2} "
                    "years. We got an extra {pct}% discount in return for a higher volume "
                    "commitment. Ordering still goes through Orbit ERP.",
                    ("contract",),
                ),
                (
                    "{n100} units of {gear} still in stock",
                    "The central warehouse still holds {n100} units of {gear} from earlier "
                    "orders. Check the stock list before you order new network equipment. That "
                    "avoids buying the same thing twice.",
                    ("stock",),
                ),
            ),
        },
    ),
    _Topic(
        key="winkelbezetting",
        departments=("Winkels", "HR"),
        holders=(4, 5),
        required_modes=(),
        skills={
            "nl": ("personeelsplanning", "roosteren", "winkelmanagement", "inwerken"),
            "en": ("staff scheduling", "rostering", "store management", "onboarding new staff"),
        },
        bio={
            "nl": ("Ik zorg dat onze winkels op drukke dagen genoeg mensen op de vloer hebben.",),
            "en": ("I make sure our stores have enough people on the floor on busy days.",),
        },
        tags={"nl": ("winkelbezetting", "rooster"), "en": ("store-staffing", "rostering")},
        slots={"store": _STORES},
        posts={
            "nl": (
                (
                    "Bezetting van {store} op koopzondagen",
                    "Op koopzondagen komen er in {store} gemiddeld {n100} bezoekers, bijna het "
                    "dubbele van een doordeweekse dag. We plannen daarom {n2} extra collega's in. "
                    "Wie wil er een zondag bij?",
                    ("koopzondag",),
                ),
                (
                    "Oproepkrachten gezocht voor de decemberdrukte in regio {loc}",
                    "Voor december zoeken we {n10} oproepkrachten voor de winkels in de regio "
                    "{loc}. Ervaring met telecom is niet nodig en het inwerken duurt {n2} dagen. "
                    "Ken je iemand, stuur de vacature dan door.",
                    ("oproepkrachten",),
                ),
                (
                    "Nieuw winkelrooster in {store}: eerste ervaringen",
                    "Sinds {month} werken we in {store} met een rooster dat rekening houdt met de "
                    "drukte per uur. De wachttijd aan de balie daalde met {pct}%. Collega's "
                    "kunnen nu ook onderling diensten ruilen in RoosterApp.",
                    ("rooster",),
                ),
                (
                    "Onderbezetting in {store}: hoe vangen jullie het op?",
                    "In {store} lag het ziekteverzuim vorige maand op {pct}%. We lossen dat nu op "
                    "met een pool van invallers uit andere winkels in de buurt. Ik ben benieuwd "
                    "hoe andere regio's de bezetting rond krijgen.",
                    ("verzuim",),
                ),
            ),
            "en": (
                (
                    "Staffing {store} on Sunday shopping days",
                    "On Sunday shopping days {store} gets {n100} visitors on average, almost "
                    "double a weekday. So we schedule {n2} extra colleagues on the floor. Who "
                    "wants to pick up a Sunday?",
                    ("sunday-shopping",),
                ),
                (
                    "On-call staff wanted for the December rush around {loc}",
                    "For December we need {n10} on-call staff for the stores around {loc}. No "
                    "telecom experience is needed and onboarding takes {n2} days. If you know "
                    "someone, please forward the vacancy.",
                    ("on-call",),
                ),
                (
                    "A new store roster at {store}: first results",
                    "Since {month}, {store} has used a roster based on hourly footfall. Waiting "
                    "time at the counter dropped by {pct}%. Colleagues can now also swap shifts "
                    "with each other in RoosterApp.",
                    ("rostering",),
                ),
                (
                    "Understaffing at {store}: how do you cope?",
                    "Sickness absence at {store} was {pct}% last month. We now cover it with a "
                    "pool of stand-ins from nearby stores. I am curious how other regions keep "
                    "their stores staffed.",
                    ("absence",),
                ),
            ),
        },
    ),
)

# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------

_POSTS_FROM = datetime(2024, 1, 8, tzinfo=UTC)
_POSTS_UNTIL = datetime(2026, 4, 30, tzinfo=UTC)
_HANDLE_DROP = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "ß": "ss", "'": "", " ": ""})
_FORMATTER = string.Formatter()
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")

_T = TypeVar("_T")


@dataclass
class _Post:
    title: str
    body: str
    tags: list[str]
    created_at: datetime
    lang: str


@dataclass
class _Person:
    name: str
    first: str
    handle: str
    department: str
    location: str
    mode: str  # "nl", "en" or "both"
    primary: str  # main writing language
    languages: list[str]
    role: tuple[str, str]
    topic: _Topic | None = None
    bio: str = ""
    skills: list[str] = field(default_factory=list)
    posts: list[_Post] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "handle": self.handle,
            "name": self.name,
            "email": f"{self.handle}@{EMAIL_DOMAIN}",
            "department": self.department,
            "location": self.location,
            "languages": list(self.languages),
            "bio": self.bio,
            "skills": list(self.skills),
            "posts": [
                {
                    "title": post.title,
                    "body": post.body,
                    "tags": list(post.tags),
                    "created_at": post.created_at.isoformat(),
                }
                for post in self.posts
            ],
        }


def _weighted(rng: random.Random, options: tuple[tuple[_T, int], ...]) -> _T:
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _place(location: str, lang: str) -> str:
    return "The Hague" if lang == "en" and location == "Den Haag" else location


def _number(value: int, lang: str) -> str:
    # Dutch groups thousands with a dot, English with a comma.
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "nl" else text


def _handle_base(first: str, last: str) -> str:
    def ascii_part(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text.lower().translate(_HANDLE_DROP))
        return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch == "-"))

    return f"{ascii_part(first)}.{ascii_part(last)}"


def _make_people(rng: random.Random) -> list[_Person]:
    people: list[_Person] = []
    seen_handles: dict[str, int] = {}
    headcount = sum(DEPARTMENT_SIZES.values())
    # Fixed quotas instead of a coin flip per person keep the language split stable per seed.
    modes = [
        (mode, main) for mode, main, pct in LANGUAGE_MODES for _ in range(headcount * pct // 100)
    ]
    modes += [("nl", "nl")] * (headcount - len(modes))
    rng.shuffle(modes)
    for department, size in DEPARTMENT_SIZES.items():
        for _ in range(size):
            mode, primary = modes.pop()
            origin = _weighted(rng, NAME_ORIGINS[primary])
            pool = NAME_POOLS[origin]
            first, last = rng.choice(pool.first), rng.choice(pool.last)
            base = _handle_base(first, last)
            seen_handles[base] = seen_handles.get(base, 0) + 1
            # Two people with the same name get "name2", "name3", ... like a real directory.
            handle = base if seen_handles[base] == 1 else f"{base}{seen_handles[base]}"
            people.append(
                _Person(
                    name=f"{first} {last}",
                    first=first,
                    handle=handle,
                    department=department,
                    location=_weighted(rng, DEPARTMENT_LOCATIONS[department]),
                    mode=mode,
                    primary=primary,
                    languages=_languages(rng, mode, primary, origin, pool.heritage),
                    role=rng.choice(DEPARTMENT_ROLES[department]),
                )
            )
    return people


def _languages(
    rng: random.Random, mode: str, primary: str, origin: str, heritage: str
) -> list[str]:
    if mode == "both":
        langs = [primary, "en" if primary == "nl" else "nl"]
    elif primary == "nl":
        # Nearly every Dutch writer reads English too; a few list only Dutch.
        langs = ["nl", "en"] if rng.random() < 0.85 else ["nl"]
    else:
        langs = ["en", "nl"] if origin == "nl" or rng.random() < 0.2 else ["en"]
    if heritage and rng.random() < 0.45:
        langs.append(heritage)
    return langs


def _assign_topics(rng: random.Random, people: list[_Person]) -> None:
    for topic in TOPICS:
        count = rng.randint(*topic.holders)
        wanted: list[str | None] = [*topic.required_modes]
        wanted += [None] * (count - len(wanted))
        for index, mode in enumerate(wanted):
            free = [p for p in people if p.topic is None and mode in (None, p.mode)]
            # At least half of the experts come from the topic's home department (steel
            # construction lives in Vastgoed & Bouw), the rest from related departments.
            home = [p for p in free if p.department == topic.departments[0]]
            related = [p for p in free if p.department in topic.departments]
            # ``free`` is the fallback when a small department has run out of people.
            candidates = home if index < (count + 1) // 2 and home else related or free
            rng.choice(candidates).topic = topic


def _post_languages(rng: random.Random, person: _Person, count: int) -> list[str]:
    if person.mode != "both":
        return [person.primary] * count
    other = "en" if person.primary == "nl" else "nl"
    # Bilingual writers use both languages at least once.
    langs = [person.primary, other]
    langs += [person.primary if rng.random() < 0.65 else other for _ in range(count - 2)]
    return langs


def _post_dates(rng: random.Random, count: int) -> list[datetime]:
    span_days = (_POSTS_UNTIL - _POSTS_FROM).days
    dates: list[datetime] = []
    for _ in range(count):
        day = _POSTS_FROM + timedelta(days=rng.randrange(span_days))
        if day.weekday() >= 5:  # people post on working days
            day += timedelta(days=7 - day.weekday())
        dates.append(day.replace(hour=rng.randint(7, 18), minute=rng.randrange(60)))
    return sorted(dates)


def _date_slots(created: datetime, lang: str, rng: random.Random) -> dict[str, str]:
    # Announcements refer to a working day a few weeks after the post.
    event = created.date() + timedelta(days=rng.randint(7, 45))
    if event.weekday() >= 5:
        event += timedelta(days=7 - event.weekday())
    quarter = (created.month - 1) // 3  # previous quarter, 0 meaning Q4 of last year
    period = f"Q{quarter} {created.year}" if quarter else f"Q4 {created.year - 1}"
    return {
        "weekday": WEEKDAYS[lang][event.weekday()],
        "day": str(event.day),
        "month": MONTHS[lang][event.month - 1],
        "year": str(event.year),  # plans and events are about the year they happen in
        "prev_year": str(created.year - 1),
        "period": period,
    }


def _slot_value(
    name: str, lang: str, person: _Person, people: list[_Person], rng: random.Random
) -> str:
    dept = person.department
    if name == "loc":
        return _place(person.location, lang)
    if name == "city":
        return _place(rng.choice([loc for loc in LOCATIONS if loc != person.location]), lang)
    if name == "dept":
        return DEPARTMENT_EN[dept] if lang == "en" else dept
    if name == "first":
        return rng.choice([p.first for p in people if p.first != person.first])
    if name == "tool":
        return rng.choice(DEPARTMENT_TOOLS[dept])
    if name in DEPARTMENT_VOCAB[dept][lang]:
        return rng.choice(DEPARTMENT_VOCAB[dept][lang][name])
    numbers: dict[str, tuple[int, int]] = {
        "n2": (2, 9),
        "n10": (10, 60),
        "n100": (120, 950),
        "pct": (4, 38),
        "pct_high": (45, 85),
        "weeks": (2, 12),
    }
    if name in numbers:
        return str(rng.randint(*numbers[name]))
    if name == "n1000":
        return _number(rng.randint(12, 98) * 100, lang)
    if name == "eur":
        return _number(rng.randint(30, 400) * 50, lang)
    if name == "ver":
        return f"{rng.randint(2, 9)}.{rng.randint(0, 20)}"
    raise KeyError(f"unknown template slot {name!r}")


def _sentences(text: str) -> int:
    return len(_SENTENCE_END.findall(text))


def _render(
    template: Template,
    lang: str,
    person: _Person,
    people: list[_Person],
    created: datetime,
    topic: _Topic | None,
    rng: random.Random,
) -> tuple[str, str, list[str]]:
    title_t, body_t, extra_tags = template
    values = _date_slots(created, lang, rng)
    local: Slots = {}
    if topic is not None:
        local = {**topic.slots, **topic.lang_slots.get(lang, {})}
    for _, name, _, _ in _FORMATTER.parse(title_t + " " + body_t):
        if name and name not in values:
            values[name] = (
                rng.choice(local[name])
                if name in local
                else _slot_value(name, lang, person, people, rng)
            )
    title = title_t.format_map(values)
    title = title[0].upper() + title[1:]
    body = body_t.format_map(values)
    closer = rng.choice(CLOSERS[lang])
    if rng.random() < 0.35 and _sentences(body) + _sentences(closer) <= 5:
        body += " " + closer
    base_tags = topic.tags[lang] if topic else (DEPARTMENT_TAGS[person.department][lang],)
    tags = list(dict.fromkeys([*base_tags, *extra_tags]))
    return title, body, tags


def _template_pool(
    rng: random.Random,
    pools: dict[tuple[bool, str], list[Template]],
    person: _Person,
    topic: _Topic | None,
    lang: str,
) -> list[Template]:
    key = (topic is not None, lang)
    if key not in pools:
        if topic is not None:
            source = list(topic.posts[lang])
        else:
            source = [*GENERIC_POSTS[lang], *DEPARTMENT_POSTS[person.department][lang]]
        rng.shuffle(source)
        pools[key] = source
    return pools[key]


def _draw_post(
    rng: random.Random,
    person: _Person,
    people: list[_Person],
    created: datetime,
    topic: _Topic | None,
    lang: str,
    pools: dict[tuple[bool, str], list[Template]],
    used: set[str],
) -> _Post | None:
    pool = _template_pool(rng, pools, person, topic, lang)
    # Templates are drawn without replacement per person. A rendering whose title or body
    # anybody already used is re-rolled on the next template, so no two posts look alike.
    for _attempt in range(3 * len(pool)):
        title, body, tags = _render(pool[-1], lang, person, people, created, topic, rng)
        if title not in used and body not in used:
            pool.pop()
            return _Post(title, body, tags, created, lang)
        pool.insert(0, pool.pop())
    return None


def _write_posts(
    rng: random.Random, person: _Person, people: list[_Person], used: set[str]
) -> None:
    total = rng.randint(2, 5)
    on_topic = 0
    if person.topic is not None:
        on_topic = rng.randint(2, 3)
        total = max(total, on_topic)
    langs = _post_languages(rng, person, total)
    rng.shuffle(langs)
    topical = [True] * on_topic + [False] * (total - on_topic)
    rng.shuffle(topical)
    pools: dict[tuple[bool, str], list[Template]] = {}
    for lang, is_topical, created in zip(langs, topical, _post_dates(rng, total), strict=True):
        topic = person.topic if is_topical else None
        post = _draw_post(rng, person, people, created, topic, lang, pools, used)
        if post is None and topic is not None:
            # The few topic templates ran out of fresh titles: write a department post instead.
            post = _draw_post(rng, person, people, created, None, lang, pools, used)
        if post is None:
            raise RuntimeError(f"no unique post left for {person.handle}")
        used.update((post.title, post.body))
        person.posts.append(post)


def _write_profile(rng: random.Random, person: _Person) -> None:
    lang = person.primary
    role_nl, role_en = person.role
    loc = _place(person.location, lang)
    if lang == "nl":
        opening = f"Ik werk als {role_nl} bij {person.department} in {loc}."
        since = (
            f"Sinds {rng.randint(2006, 2023)} bij {COMPANY}; daarvoor werkte ik bij "
            f"{rng.choice(PREVIOUS_EMPLOYERS['nl'])}."
        )
    else:
        opening = f"I work as {role_en} in {DEPARTMENT_EN[person.department]}, based in {loc}."
        since = (
            f"At {COMPANY} since {rng.randint(2006, 2023)}; before that I worked at "
            f"{rng.choice(PREVIOUS_EMPLOYERS['en'])}."
        )
    extras = [since, rng.choice(HOBBIES[lang])]
    rng.shuffle(extras)
    sentences = [opening]
    if person.topic is not None:
        sentences.append(rng.choice(person.topic.bio[lang]))
        sentences += extras[: rng.randint(0, 1)]
    else:
        sentences += extras[: rng.randint(0, 2)]
    person.bio = " ".join(sentences)

    dept_skills = list(DEPARTMENT_SKILLS[person.department][lang])
    rng.shuffle(dept_skills)
    if person.topic is not None:
        topic_skills = list(person.topic.skills[lang])
        rng.shuffle(topic_skills)
        skills = topic_skills[: rng.randint(2, 3)] + dept_skills[: rng.randint(1, 3)]
    else:
        skills = dept_skills[: rng.randint(2, 4)]
    person.skills = list(dict.fromkeys(skills))


def _generate(seed: int) -> list[_Person]:
    rng = random.Random(seed)
    people = _make_people(rng)
    _assign_topics(rng, people)
    used: set[str] = set()
    for person in people:
        _write_profile(rng, person)
        _write_posts(rng, person, people, used)
    return sorted(people, key=lambda p: p.handle)


def build_demo_people(seed: int = DEMO_SEED) -> list[dict[str, object]]:
    """Return the Telenova staff as import records; identical output for identical seeds."""
    return [person.as_dict() for person in _generate(seed)]


def demo_people_jsonl(seed: int = DEMO_SEED) -> str:
    """Return the demo people as JSONL text, one person per line."""
    return "".join(
        json.dumps(person, ensure_ascii=False) + "\n" for person in build_demo_people(seed)
    )
