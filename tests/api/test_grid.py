"""The grid router on the small network (tests/grid/small.py has the drawing)."""

from __future__ import annotations

from openoms.store.tokens import Role
from tests.api.conftest import Api

V = Role.VIEWER


def test_feeders_with_what_they_supply_now(api: Api) -> None:
    feeders = {f["id"]: f for f in api.get("/api/v1/grid/feeders", role=V).json()}
    assert list(feeders) == ["F1", "F2", "F3"]
    f1 = feeders["F1"]
    assert (f1["name"], f1["substation_id"], f1["substation_name"]) == ("甲Ⅰ线", "SA", "甲变")
    assert f1["energised"] is True
    assert f1["counts"] == {
        "nodes": 6,  # A1 … A6
        "sections": 3,  # s1, s2, s3
        "switches": 4,  # CB1, K1, FU1, and the open tie T1 at A4
        "transformer_areas": 3,
        "lv_customers": 95,
        "hv_customers": 1,
        "sensitive_customers": 1,
    }
    assert feeders["F3"]["counts"]["lv_customers"] == 30

    topology = api.context.analyser.topology
    topology.operate([(api.context.network.edge_index("CB3") or 0, False)])
    f3 = {f["id"]: f for f in api.get("/api/v1/grid/feeders", role=V).json()}["F3"]
    assert f3["energised"] is False
    assert f3["counts"]["nodes"] == 0


def test_a_device_with_its_position_and_state(api: Api) -> None:
    k1 = api.get("/api/v1/grid/devices/K1", role=V).json()
    assert k1["kind"] == "switches"
    assert k1["closed"] is True
    assert k1["normally_closed"] is True
    assert k1["energised"] is True
    assert k1["position"] == {
        "nodes": ["A2", "A3"],
        "lon_deg": 113.03,
        "lat_deg": 35.0,
        "feeder_id": "F1",
        "in_station": False,
        "depth": 3,
        "upstream_switch_id": "CB1",
    }
    ta2 = api.get("/api/v1/grid/devices/TA2", role=V).json()
    assert (ta2["name"], ta2["village"], ta2["lv_customers"]) == ("TA2台区", "李村", 35)
    assert ta2["position"]["upstream_switch_id"] == "K1"

    api.context.analyser.topology.operate([(api.context.network.edge_index("K1") or 0, False)])
    ta2 = api.get("/api/v1/grid/devices/TA2", role=V).json()
    assert ta2["energised"] is False
    assert ta2["position"]["feeder_id"] is None
    assert api.get("/api/v1/grid/devices/K1", role=V).json()["closed"] is False

    cell = api.get("/api/v1/grid/devices/G1", role=V).json()
    assert (cell["kind"], cell["position"], cell["energised"]) == ("grid_cells", None, None)
    busbar = api.get("/api/v1/grid/devices/SA", role=V).json()["position"]
    assert (busbar["in_station"], busbar["depth"], busbar["feeder_id"]) == (True, 0, None)


def test_search_by_id_prefix_name_and_village(api: Api) -> None:
    def found(q: str) -> list[tuple[str, str]]:
        body = api.get("/api/v1/grid/search", role=V, params={"q": q}).json()
        return [(item["id"], item["matched"]) for item in body["items"]]

    assert found("ta1") == [("TA1", "id")]
    assert found("CB")[:3] == [("CB1", "id"), ("CB2", "id"), ("CB3", "id")]
    assert found("水泥") == [("HV1", "name")]
    assert found("李村") == [("SC1", "name"), ("TA2", "place"), ("TA3", "place")]
    limited = api.get("/api/v1/grid/search", role=V, params={"q": "A", "limit": 2}).json()
    assert len(limited["items"]) == 2
    assert limited["truncated"] is True
    assert api.get("/api/v1/grid/search", role=V, params={"q": ""}).status_code == 422
