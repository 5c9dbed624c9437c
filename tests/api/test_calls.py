"""The dispatcher's confirmation of a trouble-call prediction over HTTP."""

from __future__ import annotations

from openoms.store.tokens import Role
from tests.api.conftest import Api


def test_confirm_a_prediction(api: Api) -> None:
    summary = {
        "zh": "用户报修研判：K1 可能已动作，2 个来电（预测）",
        "en": "trouble calls: K1 has probably operated, 2 calls (predicted)",
        "prediction": {"device": "K1", "status": "predicted", "calls": 2},
    }
    outage_id = api.fault_outage("K1", summary=summary)
    response = api.request(
        "POST", f"/api/v1/outages/{outage_id}/confirm-prediction", role=Role.DISPATCHER
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "located"
    assert body["summary"]["prediction"]["status"] == "confirmed"
    assert body["summary"]["zh"].endswith("（已确认）")
    # an outage that no call predicted: named, refused
    other = api.fault_outage("K1")
    refused = api.request(
        "POST", f"/api/v1/outages/{other}/confirm-prediction", role=Role.DISPATCHER
    )
    assert refused.status_code == 422
    assert "is not a predicted device outage" in refused.json()["detail"]
    missing = api.request("POST", "/api/v1/outages/9999/confirm-prediction", role=Role.DISPATCHER)
    assert missing.status_code == 404
