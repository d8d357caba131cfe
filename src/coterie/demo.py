"""Realistic demo data: people from several cultures, and a seeded demo workspace.

`generate_people` is cheap (no per-row validation, about 20 µs of CPU a person) so benchmarks can
make a million people with it; `seed_workspace` writes them through the directory services.
Phone numbers vary the last digits of each region's example mobile number, a pattern checked once
per region; they may belong to real people, so never message them. Emails use `.example` domains.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import phonenumbers
from sqlalchemy.orm import Session

from coterie import actor as actors
from coterie import ids
from coterie.actor import Actor, Origin, Role
from coterie.db import utcnow
from coterie.directory import forms, passwords
from coterie.directory import service as users
from coterie.directory import timeline
from coterie.directory.schemas import FieldCreate, FormCreate, TimelineCreate, UserCreate
from coterie.events import service as audit
from coterie.workspaces import service as workspaces
from coterie.workspaces.models import Workspace

ADMIN_EMAIL = "admin@demo.example"
OPERATOR_EMAIL = "viewer@demo.example"
DEFAULT_PASSWORD = "demo-admin-pass"
PLANS = ("Free", "Pro", "Enterprise")
INTERESTS = (
    "Sports", "Music", "Travel", "Cooking", "Technology",
    "Fashion", "Gaming", "Fitness", "Books", "Movies",
)
FIELDS: tuple[dict[str, Any], ...] = (
    {"key": "plan", "label": "Plan", "type": "enum", "options": list(PLANS)},
    {"key": "city", "label": "City", "type": "text"},
    {"key": "lifetime_value", "label": "Lifetime value", "type": "number",
     "description": "Revenue from this person so far, in USD"},
    {"key": "birthday", "label": "Birthday", "type": "date"},
    {"key": "interests", "label": "Interests", "type": "multi_enum", "options": list(INTERESTS)},
    {"key": "newsletter", "label": "Newsletter", "type": "boolean",
     "description": "Agreed to receive the newsletter"},
)
_SOURCES = (("internal", 35), ("import", 30), ("integration", 15), ("app", 15), ("scim", 5))
_REFS = {
    "import": ("contacts-2024-11.csv", "event-signups.xlsx", "crm-export-2025-03.csv"),
    "integration": ("shopify", "hubspot", "stripe", "zendesk"),
    "app": ("ios", "android", "web"),
    "scim": ("okta", "entra"),
}
_NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Jennifer": "Jen", "Alejandro": "Alex",
    "Francisco": "Paco", "José": "Pepe", "Guadalupe": "Lupe", "Katarzyna": "Kasia",
    "Aleksandra": "Ola", "Giuseppe": "Beppe", "Johannes": "Hannes", "Oluwaseun": "Seun",
    "Chukwuemeka": "Emeka", "Mohamed": "Hamada", "Margaux": "Margot", "Rafael": "Rafa",
}
# Characters NFKD does not take apart.
_FOLD = str.maketrans({"ß": "ss", "ł": "l", "Ł": "l", "ø": "o", "đ": "d", "Đ": "d", "ı": "i"})


@dataclass(frozen=True)
class Culture:
    """Names, cities and a mail domain of one region; `native:latin` tokens give a romanization."""

    region: str
    weight: int
    first: str
    last: str
    cities: str
    domain: str
    family_first: bool = False
    spaced: bool = True


CULTURES = (
    Culture("US", 16, "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth "
            "William Barbara Tyler Jessica Anthony Emily Jamal Ashley Ethan Olivia",
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore "
            "Jackson Lee Harris O'Brien Walker Young King Nguyen Washington",
            "New_York Los_Angeles Chicago Houston Phoenix Seattle Denver Boston Atlanta Austin",
            "mail.example"),
    Culture("GB", 7, "Oliver Amelia George Isla Harry Ava Jack Mia Charlie Grace Alfie Freya "
            "Siobhan Rhys", "Smith Jones Taylor Evans Thomas Roberts Patel Wright Walker Hughes "
            "Murphy MacDonald", "London Manchester Leeds Glasgow Bristol Cardiff Belfast Leicester",
            "post.example"),
    Culture("MX", 9, "José María Guadalupe Juan Alejandro Fernanda Sofía Diego Valentina Luis "
            "Ximena Francisco Camila Emiliano", "García Hernández Martínez López González "
            "Rodríguez Pérez Sánchez Ramírez Flores Cruz Gómez",
            "Ciudad_de_México Guadalajara Monterrey Puebla Tijuana León Mérida Querétaro",
            "correo.example"),
    Culture("ES", 5, "Lucía Hugo Martina Mateo Paula Álvaro Carmen Pablo Nerea Javier Elena "
            "Iñaki", "García Fernández González Rodríguez López Martínez Sánchez Pérez "
            "Jiménez Ruiz Muñoz Iglesias", "Madrid Barcelona Valencia Sevilla Bilbao Málaga "
            "Zaragoza", "correo.example"),
    Culture("BR", 9, "João Maria Ana Pedro Gabriel Júlia Rafael Beatriz Lucas Larissa Thiago "
            "Camila Matheus Letícia", "Silva Santos Oliveira Souza Rodrigues Ferreira Alves "
            "Pereira Lima Gomes Costa Araújo", "São_Paulo Rio_de_Janeiro Belo_Horizonte Salvador "
            "Fortaleza Curitiba Recife Porto_Alegre", "correio.example"),
    Culture("FR", 6, "Camille Léa Hugo Chloé Louis Manon Gabriel Inès Théo Margaux Lucas Zoé "
            "Benoît Cécile", "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy "
            "Moreau Lefèvre Girard", "Paris Lyon Marseille Toulouse Nice Nantes Strasbourg Lille",
            "courriel.example"),
    Culture("DE", 6, "Lukas Anna Leon Lena Finn Marie Jonas Sophie Felix Hannah Johannes Jürgen "
            "Käthe Maximilian", "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker "
            "Schulz Hoffmann Groß Köhler", "Berlin Hamburg München Köln Frankfurt Stuttgart "
            "Düsseldorf Leipzig", "posteo.example"),
    Culture("IT", 4, "Giuseppe Giulia Francesco Sofia Alessandro Aurora Lorenzo Ginevra Matteo "
            "Chiara Niccolò", "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino "
            "Greco De_Luca", "Roma Milano Napoli Torino Palermo Bologna Firenze", "posta.example"),
    Culture("PL", 3, "Katarzyna Aleksandra Piotr Krzysztof Agnieszka Tomasz Małgorzata Paweł "
            "Zofia Łukasz", "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski "
            "Zieliński", "Warszawa Kraków Łódź Wrocław Poznań Gdańsk", "poczta.example"),
    Culture("TR", 3, "Mehmet Ayşe Mustafa Fatma Emre Zeynep Burak Elif Çağan Şeyma",
            "Yılmaz Kaya Demir Şahin Çelik Yıldız Öztürk Aydın", "İstanbul Ankara İzmir Bursa "
            "Antalya", "posta.example"),
    Culture("IN", 9, "Aarav Priya Vivaan Ananya Aditya Diya Arjun Saanvi Rohan Kavya Ishaan "
            "Lakshmi Rahul Sneha", "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Das Mehta "
            "Chatterjee Joshi", "Mumbai Delhi Bengaluru Hyderabad Chennai Kolkata Pune Jaipur",
            "dak.example"),
    Culture("NG", 5, "Chukwuemeka Oluwaseun Ngozi Adebayo Chiamaka Ifeanyi Funmilayo Tunde "
            "Amaka Yusuf Zainab Emeka", "Okafor Adeyemi Okonkwo Balogun Eze Ibrahim Nwosu "
            "Abubakar Ogunleye Obi", "Lagos Abuja Ibadan Kano Port_Harcourt Enugu Benin_City",
            "mail.example"),
    Culture("KE", 2, "Wanjiru Kamau Achieng Otieno Njeri Mwangi Akinyi Kiprop Wambui",
            "Mwangi Otieno Kariuki Odhiambo Wanjiku Kiptoo Njoroge Chebet", "Nairobi Mombasa "
            "Kisumu Nakuru Eldoret", "mail.example"),
    Culture("EG", 3, "Mohamed Ahmed Mahmoud Mostafa Fatma Nour Yasmin Omar Mariam Hana",
            "Hassan Ibrahim Mahmoud Abdelrahman Salem Farouk Mansour Shawky",
            "Cairo Alexandria Giza Luxor Aswan Mansoura", "barid.example"),
    Culture("SA", 2, "محمد:Mohammed أحمد:Ahmed علي:Ali عمر:Omar خالد:Khalid يوسف:Youssef "
            "فاطمة:Fatima عائشة:Aisha مريم:Maryam نورة:Noura سارة:Sara ليلى:Layla",
            "العتيبي:Alotaibi القحطاني:Alqahtani الغامدي:Alghamdi الشمري:Alshammari "
            "الحربي:Alharbi الزهراني:Alzahrani", "الرياض جدة مكة الدمام", "barid.example"),
    Culture("CN", 5, "伟:Wei 芳:Fang 娜:Na 敏:Min 静:Jing 丽:Li 强:Qiang 磊:Lei 洋:Yang "
            "杰:Jie 涛:Tao 明:Ming 秀英:Xiuying 桂英:Guiying", "王:Wang 李:Li 张:Zhang 刘:Liu "
            "陈:Chen 杨:Yang 黄:Huang 赵:Zhao 吴:Wu 周:Zhou", "北京 上海 广州 深圳 成都 杭州",
            "youxiang.example", family_first=True, spaced=False),
    Culture("JP", 3, "陽翔:Haruto 蓮:Ren 湊:Minato 大翔:Hiroto 悠真:Yuma 陽葵:Himari 凛:Rin "
            "結菜:Yuna 葵:Aoi さくら:Sakura 美咲:Misaki", "佐藤:Sato 鈴木:Suzuki 高橋:Takahashi "
            "田中:Tanaka 伊藤:Ito 渡辺:Watanabe 山本:Yamamoto 中村:Nakamura", "東京 大阪 横浜 "
            "名古屋 札幌 福岡", "meeru.example", family_first=True),
    Culture("VN", 3, "An Anh Bảo Châu Dũng Hà Hải Hương Khoa Linh Minh Ngọc Phương Tuấn Trang",
            "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Đặng Bùi", "Hà_Nội Hồ_Chí_Minh Đà_Nẵng "
            "Hải_Phòng Cần_Thơ", "thu.example", family_first=True),
)


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits only, for email local parts and handles."""
    plain = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in plain.lower() if c.isascii() and c.isalnum())


def _names(words: str) -> tuple[tuple[str, str], ...]:
    """(display, ASCII) pairs from `native:latin` or plain tokens; `_` stands for a space."""
    pairs = []
    for token in words.split():
        shown, _, latin = token.replace("_", " ").partition(":")
        pairs.append((shown, _fold(latin or shown) or "user"))
    return tuple(pairs)


@dataclass(frozen=True)
class _Region:
    culture: Culture
    first: tuple[tuple[str, str], ...]
    last: tuple[tuple[str, str], ...]
    cities: tuple[str, ...]
    prefix: str  # E.164 up to the varied digits
    digits: int  # how many trailing digits vary


@lru_cache(maxsize=None)
def _phone_pattern(region: str) -> tuple[str, int]:
    """E.164 prefix and the number of trailing digits that can vary and stay a valid mobile."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phonenumbers has no example mobile number for {region}")
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    probe = random.Random(region)
    for digits in (6, 5, 4, 3):
        samples = ["0" * digits, "9" * digits]
        samples += [str(probe.randrange(10**digits)).zfill(digits) for _ in range(30)]
        candidates = (phonenumbers.parse(e164[:-digits] + s) for s in samples)
        if all(phonenumbers.is_valid_number(n) for n in candidates):
            return e164[:-digits], digits
    raise ValueError(f"cannot vary the example mobile number of {region}")


@lru_cache(maxsize=1)
def _regions() -> tuple[_Region, ...]:
    return tuple(
        _Region(
            c, _names(c.first), _names(c.last),
            tuple(city.replace("_", " ") for city in c.cities.split()), *_phone_pattern(c.region),
        )
        for c in CULTURES
    )


class _Numbers:
    """Unique numbers per region: a counter run through a bijection of 0..10**digits-1."""

    def __init__(self, regions: tuple[_Region, ...], seed: int) -> None:
        self._used = [0] * len(regions)
        self._offset = [(seed * 7_919 + i * 104_729) for i in range(len(regions))]

    def next(self, index: int, region: _Region) -> str | None:
        used = self._used[index]
        space = 10**region.digits
        if used >= space:
            return None
        self._used[index] = used + 1
        tail = (used * 7_919 + self._offset[index]) % space
        return f"{region.prefix}{tail:0{region.digits}d}"


class _Unique:
    """`base`, then `base2`, `base3`...: unique among what this generator made."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, base: str, limit: int) -> str:
        count = self._seen.get(base, 0) + 1
        self._seen[base] = count
        suffix = str(count) if count > 1 else ""
        return base[: limit - len(suffix)] + suffix


# Interest sets by bit mask; two random 10-bit masks ANDed pick each interest with p = 1/4.
_INTEREST_SETS = tuple(
    [name for bit, name in enumerate(INTERESTS) if mask >> bit & 1] for mask in range(1024)
)
_LTV_SCALE = {"Free": 40.0, "Pro": 900.0, "Enterprise": 25_000.0}
_BIRTHDAY_EPOCH = date(1950, 1, 1).toordinal()


def _attributes(rng: random.Random, region: _Region) -> dict[str, Any]:
    r = rng.random
    values: dict[str, Any] = {}
    roll = r()
    plan = "Free" if roll < 0.6 else "Pro" if roll < 0.9 else "Enterprise"
    if r() < 0.95:
        values["plan"] = plan
    if r() < 0.9:
        values["city"] = region.cities[int(r() * len(region.cities))]
    if r() < 0.9:
        values["lifetime_value"] = round(rng.expovariate(1 / _LTV_SCALE[plan]), 2)
    if r() < 0.7:
        values["birthday"] = date.fromordinal(_BIRTHDAY_EPOCH + int(r() * 20_450)).isoformat()
    if r() < 0.8:
        interests = _INTEREST_SETS[rng.getrandbits(10) & rng.getrandbits(10)]
        if interests:
            values["interests"] = interests
    if r() < 0.75:
        values["newsletter"] = r() < 0.4
    return values


def generate_people(
    count: int, seed: int = 42, *, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """`count` distinct people as User column values, normalized (E.164, lower-case emails).

    Keys: full_name, first_name, last_name, nicknames, phone, email, whatsapp, instagram,
    external_id, primary_channel, source, source_ref, created_at, last_activity_at, attributes.
    The same seed and `now` give the same people; identifiers are unique within one call.
    """
    rng = random.Random(seed)
    r = rng.random
    now = (now or utcnow()).replace(microsecond=0)
    regions = _regions()
    weights = [reg.culture.weight for reg in regions]
    numbers, emails, handles = _Numbers(regions, seed), _Unique(), _Unique()
    picks = rng.choices(range(len(regions)), weights, k=count)
    sources = rng.choices([s for s, _ in _SOURCES], [w for _, w in _SOURCES], k=count)
    for n in range(count):
        index = picks[n]
        region = regions[index]
        first, first_ascii = region.first[int(r() * len(region.first))]
        last, last_ascii = region.last[int(r() * len(region.last))]
        culture = region.culture
        given, family = (last, first) if culture.family_first else (first, last)
        full_name = f"{given} {family}" if culture.spaced else f"{given}{family}"
        phone = numbers.next(index, region) if r() < 0.8 else None
        whatsapp = None
        if r() < 0.4:
            whatsapp = phone if phone and r() < 0.8 else numbers.next(index, region)
        email = instagram = None
        style = int(r() * 4)
        if r() < 0.85 or not (phone or whatsapp):
            local = (f"{first_ascii}.{last_ascii}", f"{first_ascii}{last_ascii}",
                     f"{first_ascii[0]}{last_ascii}", f"{last_ascii}.{first_ascii}")[style]
            domain = culture.domain if r() < 0.6 else "mail.example"
            email = f"{emails(local, 60)}@{domain}"
        if r() < 0.3:
            base = (f"{first_ascii}.{last_ascii}", f"{first_ascii}_{last_ascii}",
                    f"the{first_ascii}", f"{first_ascii}{last_ascii}")[style]
            instagram = handles(base, 30)
        channels = [c for c, v in (("whatsapp", whatsapp), ("instagram", instagram),
                                   ("email", email), ("phone", phone), ("sms", phone)) if v]
        source = sources[n]
        refs = _REFS.get(source)
        ref = refs[int(r() * len(refs))] if refs else None
        created_at = now - timedelta(seconds=int(r() * 730 * 86_400))
        active = None
        if r() < 0.85:
            span = min((now - created_at).total_seconds(), 365 * 86_400)
            active = now - timedelta(seconds=int(span * r() ** 2))
        nickname = _NICKNAMES.get(first)
        yield {
            "full_name": full_name,
            "first_name": first,
            "last_name": last,
            "nicknames": [nickname] if nickname and r() < 0.5 else [],
            "phone": phone,
            "email": email,
            "whatsapp": whatsapp,
            "instagram": instagram,
            "external_id": f"{ref}-{n + 1:07d}" if source in ("integration", "scim") else None,
            "primary_channel": channels[int(r() * len(channels))],
            "source": source,
            "source_ref": ref,
            "created_at": created_at,
            "last_activity_at": active,
            "attributes": _attributes(rng, region),
        }


def as_row(person: dict[str, Any], *, workspace_id: int) -> dict[str, Any]:
    """A generated person as a complete `users` row, for bulk inserts with SQLAlchemy Core."""
    return {
        **person,
        "workspace_id": workspace_id,
        "id": ids.new_id(),
        "role": "none",
        "status": "active",
        "scoring_enabled": False,
        "roaming": False,
        "updated_at": person["last_activity_at"] or person["created_at"],
    }


_NOTES = (
    "Called about the invoice; will pay by Friday.",
    "Prefers WhatsApp over email.",
    "Met at the spring meetup, interested in the Pro plan.",
    "Asked to be reminded before the renewal date.",
    "VIP: answer within the hour.",
)
_TICKETS = (
    ("Cannot sign in", "open"), ("Refund request", "pending"), ("Wrong address on order", "closed"),
    ("App crashes on start", "open"), ("Change of plan", "closed"),
)
_MESSAGES = (
    ("whatsapp", "Hi! Is my order on its way?"), ("email", "Thanks for the quick answer."),
    ("instagram", "Love the new collection!"), ("sms", "Please call me back tomorrow."),
)


@dataclass(frozen=True)
class DemoLogin:
    """Where to sign in to the demo; `password` is None when it is not the default one."""

    workspace: str
    email: str
    password: str | None


@dataclass(frozen=True)
class SeedResult:
    workspace: Workspace
    people: int
    timeline_entries: int
    login: DemoLogin


def _staff(session: Session, *, actor: Actor, password: str) -> Actor:
    """The demo admin and a read-only operator; the admin authors the demo's timeline entries."""
    admin = users.create(session, actor=actor, data=UserCreate(
        full_name="Dana Admin", email=ADMIN_EMAIL, role="admin", password=password,
        primary_channel="email", source="internal",
    ))
    users.create(session, actor=actor, data=UserCreate(
        full_name="Vic Viewer", email=OPERATOR_EMAIL, role="read_only", password=password,
        primary_channel="email", source="internal",
    ))
    return Actor(workspace_id=actor.workspace_id, role=Role.ADMIN, label=admin.full_name,
                 origin=Origin.CLI, user_id=admin.id)


def _timeline(session: Session, *, author: Actor, rng: random.Random, user_id: int,
              since: datetime, until: datetime) -> int:
    """A few notes, tickets and conversation entries, none later than the last activity."""
    count = rng.randint(1, 3)
    for _ in range(count):
        at = since + (until - since) * rng.random()
        kind = rng.choice(("note", "ticket", "conversation"))
        if kind == "note":
            data = TimelineCreate(kind="note", body=rng.choice(_NOTES), occurred_at=at)
        elif kind == "ticket":
            title, status = rng.choice(_TICKETS)
            data = TimelineCreate.model_validate(
                {"kind": "ticket", "title": title, "status": status, "occurred_at": at}
            )
        else:
            channel, body = rng.choice(_MESSAGES)
            data = TimelineCreate.model_validate(
                {"kind": "conversation", "channel": channel, "body": body, "occurred_at": at}
            )
        timeline.create(session, actor=author, user_id=user_id, data=data)
    return count


def seed_workspace(
    session: Session,
    *,
    slug: str = "demo",
    name: str = "Demo",
    people: int = 2000,
    seed: int = 42,
    admin_password: str = DEFAULT_PASSWORD,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """A new workspace with custom fields, a form, staff and `people` people (flushed, not committed).

    People go through `directory.service.create`, so they are normalized, checked and audited
    exactly as API calls are; only their sign-up time is back-dated, which no service offers.
    """
    workspace = workspaces.create(session, slug=slug, name=name, default_region="US")
    actor = actors.system(workspace.id, label="cli", origin=Origin.CLI)
    for spec in FIELDS:
        forms.create_field(session, actor=actor, data=FieldCreate.model_validate(spec))
    forms.create_form(session, actor=actor, data=FormCreate(
        name="Customer profile", description="What we know about a customer",
        fields=[spec["key"] for spec in FIELDS],
    ))
    author = _staff(session, actor=actor, password=admin_password)
    rng = random.Random(seed + 1)
    entries = 0
    for done, person in enumerate(generate_people(people, seed), start=1):
        created_at = person.pop("created_at")
        user = users.create(session, actor=actor, data=UserCreate.model_validate(person))
        user.created_at = user.updated_at = created_at
        active = person["last_activity_at"]
        if active is not None and rng.random() < 0.12:
            entries += _timeline(session, author=author, rng=rng, user_id=user.id,
                                 since=created_at, until=active)
        if done % 500 == 0:
            session.flush()
            session.expunge_all()  # keeps memory flat for large --people
        if progress is not None:
            progress(1)
    session.flush()
    audit.record(session, actor=actor, action="workspace.seeded", target_type="workspace",
                 target_id=workspace.id, target_label=workspace.slug,
                 after={"people": people, "seed": seed, "timeline_entries": entries})
    login = DemoLogin(workspace.slug, ADMIN_EMAIL,
                      admin_password if admin_password == DEFAULT_PASSWORD else None)
    return SeedResult(workspace, people, entries, login)


def demo_login(session: Session, *, slug: str = "demo") -> DemoLogin | None:
    """The demo admin's sign-in, if that workspace and admin exist; the password if still default."""
    workspace = workspaces.find_by_slug(session, slug=slug)
    if workspace is None:
        return None
    admin = users.find_by_identifier(
        session, workspace_id=workspace.id, kind="email", value=ADMIN_EMAIL
    )
    if admin is None:
        return None
    default = passwords.verify_password(admin.password_hash, DEFAULT_PASSWORD)
    return DemoLogin(slug, ADMIN_EMAIL, DEFAULT_PASSWORD if default else None)
