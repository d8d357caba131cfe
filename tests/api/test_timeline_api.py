from __future__ import annotations

from fastapi.testclient import TestClient

from coterie.actor import Role
from coterie.settings import Settings
from coterie.workspaces import service as workspaces
from tests.conftest import Api


def _person(client: TestClient) -> str:
    response = client.post("/api/v1/users", json={"full_name": "Pat", "email": "pat@example.com"})
    assert response.status_code == 201
    user_id = response.json()["id"]
    assert response.json()["last_activity_at"] is None
    return str(user_id)


def test_note_ticket_and_conversation_update_last_activity(client: TestClient) -> None:
    user_id = _person(client)
    note = client.post(
        f"/api/v1/users/{user_id}/timeline", json={"kind": "note", "body": "Called back"}
    )
    assert note.status_code == 201, note.text
    assert note.json()["author"].startswith("token:")
    ticket = client.post(
        f"/api/v1/users/{user_id}/timeline", json={"kind": "ticket", "title": "Refund"}
    )
    assert ticket.json()["status"] == "open"
    client.post(
        f"/api/v1/users/{user_id}/timeline",
        json={
            "kind": "conversation",
            "body": "Hi!",
            "channel": "whatsapp",
            "occurred_at": "2020-01-01T00:00:00Z",
        },
    )
    user = client.get(f"/api/v1/users/{user_id}").json()
    assert (
        user["last_activity_at"] == note.json()["occurred_at"]
        or user["last_activity_at"] >= note.json()["occurred_at"]
    )
    entries = client.get(f"/api/v1/users/{user_id}/timeline").json()
    assert [e["kind"] for e in entries][:2] in (["ticket", "note"], ["note", "ticket"])
    assert entries[-1]["kind"] == "conversation"

    closed = client.patch(
        f"/api/v1/users/{user_id}/timeline/{ticket.json()['id']}", json={"status": "closed"}
    )
    assert closed.json()["status"] == "closed"
    empty = client.post(f"/api/v1/users/{user_id}/timeline", json={"kind": "note", "body": ""})
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["field"] == "body"


def test_media_upload_is_stored_and_downloadable(client: TestClient) -> None:
    user_id = _person(client)
    response = client.post(
        f"/api/v1/users/{user_id}/timeline/media",
        files={"file": ("../../etc/passwd receipt.pdf", b"%PDF-1.4 hello", "application/pdf")},
        data={"caption": "the receipt"},
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["file_name"] == "passwd receipt.pdf"
    assert entry["file_size"] == 14
    download = client.get(f"/api/v1/users/{user_id}/timeline/{entry['id']}/file")
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 hello"
    assert client.get(f"/api/v1/users/{user_id}").json()["last_activity_at"] is not None
    empty = client.post(
        f"/api/v1/users/{user_id}/timeline/media", files={"file": ("e.txt", b"", "text/plain")}
    )
    assert empty.status_code == 400


def test_read_only_cannot_add_to_the_timeline(api: Api) -> None:
    user_id = _person(api.as_role(Role.ADMIN))
    reader = api.as_role(Role.READ_ONLY)
    assert reader.get(f"/api/v1/users/{user_id}/timeline").status_code == 200
    response = reader.post(f"/api/v1/users/{user_id}/timeline", json={"kind": "note", "body": "x"})
    assert response.status_code == 403


def test_upload_over_the_workspace_limit_is_413_and_leaves_nothing(
    api: Api, isolated_settings: Settings
) -> None:
    client = api.as_role(Role.ADMIN)
    user_id = _person(client)
    workspaces.get(api.session, workspace_id=api.actor.workspace_id).upload_limit_bytes = 10
    api.session.commit()
    response = client.post(
        f"/api/v1/users/{user_id}/timeline/media",
        files={"file": ("big.bin", b"x" * 11, "application/octet-stream")},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/api/v1/users/{user_id}/timeline").json() == []
    stored = [p for p in isolated_settings.media_dir.rglob("*") if p.is_file()]
    assert stored == []


def test_null_clears_a_text_but_not_what_the_entry_needs(client: TestClient) -> None:
    """PATCH with null was written as NULL into NOT NULL columns: a 500 (found by fuzzing)."""
    user_id = _person(client)
    entries = f"/api/v1/users/{user_id}/timeline"
    note = client.post(entries, json={"kind": "note", "title": "Call", "body": "Hi"}).json()
    ticket = client.post(entries, json={"kind": "ticket", "title": "Refund"}).json()
    for entry, body, field in (
        (note, {"body": None}, "body"),
        (ticket, {"title": None}, "title"),
        (ticket, {"status": None}, "status"),
    ):
        refused = client.patch(f"{entries}/{entry['id']}", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == field
        assert client.get(f"{entries}/{entry['id']}").json() == entry
    cleared = client.patch(f"{entries}/{note['id']}", json={"title": None})
    assert (cleared.status_code, cleared.json()["title"]) == (200, "")


def test_a_nul_in_a_media_caption_is_refused_naming_it(client: TestClient) -> None:
    """PostgreSQL cannot store NUL: the caption (a form field, not a JSON body) was a 500 there."""
    user_id = _person(client)
    response = client.post(
        f"/api/v1/users/{user_id}/timeline/media",
        files={"file": ("a.txt", b"hi", "text/plain")},
        data={"caption": "a\x00b"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "caption"
    assert client.get(f"/api/v1/users/{user_id}/timeline").json() == []
