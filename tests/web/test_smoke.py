from __future__ import annotations

from tests.web.support import Web


def test_pages_render(web: Web) -> None:
    pid = web.patient()
    tid = web.task(pid, due_in_days=-1)
    web.task(pid, due_in_days=0)
    web.task(pid, due_in_days=3)
    web.alert(pid)
    c = web.client("coordinator")
    for url in (
        "/queue",
        "/queue?bucket=today",
        "/queue?bucket=upcoming",
        "/queue?bucket=mine",
        f"/tasks/{tid}",
        "/patients",
        f"/patients/{pid}",
        "/patients/new",
        f"/patients/{pid}/edit",
    ):
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:2000])
    k = web.client("clinician")
    for url in ("/queue", f"/patients/{pid}"):
        r = k.get(url)
        assert r.status_code == 200, (url, r.text[:2000])
    q = web.client("quality")
    assert q.get("/audit").status_code == 200
    a = web.client("admin")
    assert a.get("/admin/users").status_code == 200
