"""ANPR plate reads: the MQTT consumer for vans, VRM normalisation, the hotlist derived from case state
(R-ANPR-24H, R-ANPR-DELETE), matching, hits, the keeper-check workflow (R-ANPR-KEEPER) and alerts.

Filled by the ANPR issue; nothing here yet.
"""
