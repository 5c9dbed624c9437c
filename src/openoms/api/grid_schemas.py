"""The API's schemas of the network: feeders, devices and where they sit, device search.

Built by the routes of :mod:`.routes.grid` from the network and its live topology.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from openoms.grid.model import ElementKind

__all__ = ["DeviceMatch", "DeviceOut", "FeederCounts", "FeederOut", "Position", "SearchResult"]


class FeederCounts(BaseModel):
    nodes: int
    sections: int
    switches: int
    transformer_areas: int
    lv_customers: int
    hv_customers: int
    sensitive_customers: int


class FeederOut(BaseModel):
    id: str
    name: str | None
    substation_id: str
    substation_name: str | None
    energised: bool = Field(description="Whether the feeder supplies any node now.")
    counts: FeederCounts = Field(description="What the feeder supplies in the present state.")


class Position(BaseModel):
    """Where a device sits in the network, in the present switch state."""

    nodes: list[str] = Field(description="The node(s) it is at or between.")
    lon_deg: float | None
    lat_deg: float | None
    feeder_id: str | None = Field(description="The feeder supplying it now, if any.")
    in_station: bool = Field(description="Inside a substation (on no feeder).")
    depth: int | None = Field(description="Branches from the substation; null when dead.")
    upstream_switch_id: str | None = Field(
        description="The nearest switch between it and the substation."
    )


class DeviceOut(BaseModel):
    id: str
    kind: ElementKind
    name: str | None
    energised: bool | None = Field(description="Null for kinds without a place (grid cells).")
    position: Position | None
    closed: bool | None = Field(default=None, description="Switches: present state.")
    normally_closed: bool | None = Field(default=None, description="Switches: normal state.")
    village: str | None = None
    street: str | None = None
    township: str | None = None
    lv_customers: int | None = Field(default=None, description="Transformer areas.")


class DeviceMatch(BaseModel):
    id: str
    kind: ElementKind
    name: str | None
    matched: Literal["id", "name", "place"]
    place: str | None = Field(description="The village, street or township, where one is known.")


class SearchResult(BaseModel):
    query: str
    items: list[DeviceMatch]
    truncated: bool = Field(description="More matched than the limit.")
