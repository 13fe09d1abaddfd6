"""The geofences on agents' OwnTracks phones: one circular region per planned visit, around the case
address, named by the case id. ``dispatch`` sends them to the phone (the app's ``setWaypoints``
command) and ``tracking`` reads the app's enter and leave events of them back; neither may import the
other, so the convention they share lives here."""
from __future__ import annotations

__all__ = ["GEOFENCE_RADIUS_M", "geofence_name", "owntracks_cmd_topic"]

# The stop detector's radius (tracking.DEFAULT_RADIUS_M): the app's "entered" and the detector's
# "arrived" then describe the same circle around the door.
GEOFENCE_RADIUS_M = 50


def geofence_name(case_id: int) -> str:
    """The region's name (the waypoint's ``desc``, echoed as the transition's ``desc``)."""
    return str(case_id)


def owntracks_cmd_topic(device_id: str, owntracks_name: str) -> str:
    """Where an OwnTracks phone reads its commands: its own topic ``owntracks/<user>/<device>`` + ``/cmd``
    (the broker's ACL lets a phone read only its own ``owntracks/<device id>/+/cmd``)."""
    return f"owntracks/{device_id}/{owntracks_name}/cmd"
