"""A fast generator of realistic, synthetic people for the benchmarks (about 1M rows in seconds).

Rows come out as tuples in `COLUMNS` order, ready for COPY or executemany. Identifiers are unique by
construction (they are derived from the row number), names and cities include non-ASCII letters,
and about one value in ten is missing where the product allows it.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta

COLUMNS = (
    "workspace_id",
    "id",
    "full_name",
    "first_name",
    "last_name",
    "nicknames",
    "phone",
    "email",
    "whatsapp",
    "instagram",
    "external_id",
    "primary_channel",
    "source",
    "source_ref",
    "last_activity_at",
    "attributes",
    "role",
    "password_hash",
    "agent_id",
    "ring_phone",
    "scoring_enabled",
    "roaming",
    "status",
    "created_at",
    "updated_at",
)

FIRST = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew
Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy
Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob
Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela
Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine
Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry
Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas
Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith
Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha
Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn
Jesse Janice Jordan Jean Bryan Abigail Billy Alice Joe Judy Bruce Sophia Gabriel Grace Logan
Denise Albert Amber Willie Doris Alan Marilyn Juan Danielle Wayne Beverly Elijah Isabella
Randy Theresa Roy Diana Vincent Natalie Ralph Brittany Eugene Charlotte Russell Marie Bobby
Kayla Mason Alexis Philip Lori José Zoë Renée Chloé Søren Björn Łukasz Zoltán Ahmet Çağla
Émile Inés Jürgen Ólafur Ngozi Chidi Aiko Hiroshi Mei Wei Priya Arjun Fatima Omar Leila
Yusuf Anastasia Dmitri Siobhán
""".split()  # noqa: SIM905
LAST = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward
Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez
Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison
Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker
Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peña Müller Schröder
Kowalski Nowak Dubois Lefèvre Rossi Russo Ferrari Bianchi Andersson Johansson Nielsen Jensen
Yılmaz Kaya Öztürk Okafor Adeyemi Tanaka Suzuki Watanabe Wang Zhang Liu Sharma Singh Khan
Ivanov Petrova O'Brien
""".split()  # noqa: SIM905, RUF001
CITIES = (
    "London",
    "Manchester",
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Toronto",
    "Montréal",
    "São Paulo",
    "Rio de Janeiro",
    "Mexico City",
    "Bogotá",
    "Madrid",
    "Barcelona",
    "Paris",
    "Lyon",
    "Berlin",
    "München",
    "Köln",
    "Zürich",
    "Wien",
    "Milano",
    "Roma",
    "Amsterdam",
    "Bruxelles",
    "København",
    "Stockholm",
    "Oslo",
    "Helsinki",
    "Warszawa",
    "Kraków",
    "Praha",
    "Budapest",
    "İstanbul",
    "Lagos",
    "Nairobi",
    "Cairo",
    "Dubai",
    "Mumbai",
    "Bengaluru",
    "Singapore",
    "Tokyo",
    "Ōsaka",
    "Seoul",
    "Sydney",
    "Melbourne",
    "Auckland",
    "Cape Town",
    "Lisboa",
    "Dublin",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "inbox.example")
# (country prefix, the national number prefixes it draws from): mobile ranges that validate.
REGIONS = (
    ("+1", ("212", "310", "415", "512", "617", "646", "702", "213", "305", "404")),
    ("+44", ("740", "770", "791")),
    ("+55", ("1198", "2198")),
)
CHANNELS = ("whatsapp", "email", "phone", "sms", "instagram")
CHANNEL_WEIGHTS = (35, 30, 15, 10, 10)
SOURCES = ("import", "internal", "integration", "app", "scim")
SOURCE_WEIGHTS = (45, 20, 15, 15, 5)
PLANS = ("Free", "Pro", "Enterprise")
PLAN_WEIGHTS = (55, 35, 10)
NOW = datetime(2026, 11, 1)
YEAR = 365 * 24 * 3600


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _choices(
    rng: random.Random, values: tuple[str, ...], weights: tuple[int, ...], k: int
) -> list[str]:
    return rng.choices(values, weights=weights, k=k)


def generate(
    count: int, *, workspace_id: int, seed: int = 1, new_id: object = None
) -> Iterator[tuple]:
    """`count` rows as tuples in COLUMNS order: naive UTC datetimes, JSON as text, bools."""
    from coterie import ids

    make_id = new_id or ids.new_id
    rng = random.Random(seed)
    first_ascii = {n: _ascii(n) for n in FIRST}
    last_ascii = {n: _ascii(n) for n in LAST}
    firsts = rng.choices(FIRST, k=count)
    lasts = rng.choices(LAST, k=count)
    channels = _choices(rng, CHANNELS, CHANNEL_WEIGHTS, count)
    sources = _choices(rng, SOURCES, SOURCE_WEIGHTS, count)
    plans = _choices(rng, PLANS, PLAN_WEIGHTS, count)
    cities = rng.choices(CITIES, k=count)
    rand = rng.random
    for i in range(count):
        first, last = firsts[i], lasts[i]
        channel, source = channels[i], sources[i]
        prefix, ranges = REGIONS[0] if i % 10 < 7 else REGIONS[1] if i % 10 < 9 else REGIONS[2]
        # 7919 is prime to 8,000,000, so each row below 8M gets its own subscriber number.
        subscriber = 2_000_000 + (i * 7919) % 8_000_000
        phone = f"{prefix}{ranges[i % len(ranges)]}{subscriber}"
        r, r2, r3 = rand(), rand(), rand()
        has_phone = channel in ("whatsapp", "phone", "sms") or r < 0.5
        has_email = channel == "email" or r > 0.2 or not has_phone
        local = f"{first_ascii[first]}.{last_ascii[last]}{i}"
        email = f"{local}@{DOMAINS[i % len(DOMAINS)]}" if has_email else None
        whatsapp = phone if has_phone and (channel == "whatsapp" or r < 0.1) else None
        instagram = (
            f"{first_ascii[first]}_{last_ascii[last]}{i}"
            if channel == "instagram" or r2 > 0.85
            else None
        )
        external_id = f"crm-{i:08d}" if source in ("integration", "scim") else None
        activity = NOW - timedelta(seconds=int(rand() * YEAR)) if r3 > 0.08 else None
        created = NOW - timedelta(seconds=YEAR + int(rand() * YEAR))
        city = f',"city":"{cities[i]}"' if r2 < 0.95 else ""
        score = f',"score":{round(rand() * 100, 1)}' if r3 > 0.03 else ""
        attributes = f'{{"plan":"{plans[i]}"{city}{score}}}'
        yield (
            workspace_id,
            make_id(),
            f"{first} {last}",
            first,
            last,
            "[]",
            phone if has_phone else None,
            email,
            whatsapp,
            instagram,
            external_id,
            channel,
            source,
            f"import:{i // 50_000}" if source == "import" else None,
            activity,
            attributes,
            "none",
            None,
            None,
            None,
            False,
            False,
            "deactivated" if r2 < 0.03 else "active",
            created,
            activity or created,
        )
