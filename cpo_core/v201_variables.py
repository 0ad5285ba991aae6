"""The admin API's configuration ``key``/``value`` on OCPP 2.0.1 device-model variables.

OCPP 1.6 has flat configuration keys (GetConfiguration / ChangeConfiguration); OCPP 2.0.1 has
variables of components (GetVariables / SetVariables, Part 2 B06/B05; device model in Part 1
section 4). A key in the admin API is one of (docs/ocpp.md, "2.0.1 operations"):

- ``Component/Variable``, e.g. ``OCPPCommCtrlr/HeartbeatInterval``; instances in square
  brackets and an EVSE (and connector) after ``@``:
  ``EVSE@1/Power``, ``Connector@1:1/Available``,
  ``OCPPCommCtrlr/MessageAttempts[TransactionEvent]``;
- a bare OCPP 1.6 key with a standard 2.0.1 equivalent (``ALIASES``, after OCPP 2.0.1 Part 2
  Appendix 3, the referenced components and variables), e.g. ``HeartbeatInterval`` or
  ``MeterValueSampleInterval``. Other bare keys are refused (422): say which component.

Only the ``Actual`` attribute is read and written.
"""

from __future__ import annotations

import re
from typing import Any

from hub.domain import InvalidInput

Component = dict[str, Any]
Variable = dict[str, Any]

# OCPP 1.6 configuration key -> (component, variable) of the 2.0.1 device model.
ALIASES: dict[str, tuple[str, str]] = {
    "HeartbeatInterval": ("OCPPCommCtrlr", "HeartbeatInterval"),
    "WebSocketPingInterval": ("OCPPCommCtrlr", "WebSocketPingInterval"),
    "ResetRetries": ("OCPPCommCtrlr", "ResetRetries"),
    "MeterValueSampleInterval": ("SampledDataCtrlr", "TxUpdatedInterval"),
    "MeterValuesSampledData": ("SampledDataCtrlr", "TxUpdatedMeasurands"),
    "StopTxnSampledData": ("SampledDataCtrlr", "TxEndedMeasurands"),
    "ClockAlignedDataInterval": ("AlignedDataCtrlr", "Interval"),
    "MeterValuesAlignedData": ("AlignedDataCtrlr", "Measurands"),
    "StopTxnAlignedData": ("AlignedDataCtrlr", "TxEndedMeasurands"),
    "ConnectionTimeOut": ("TxCtrlr", "EVConnectionTimeOut"),
    "StopTransactionOnEVSideDisconnect": ("TxCtrlr", "StopTxOnEVSideDisconnect"),
    "StopTransactionOnInvalidId": ("TxCtrlr", "StopTxOnInvalidId"),
    "AuthorizeRemoteTxRequests": ("AuthCtrlr", "AuthorizeRemoteStart"),
    "LocalAuthorizeOffline": ("AuthCtrlr", "LocalAuthorizeOffline"),
    "LocalPreAuthorize": ("AuthCtrlr", "LocalPreAuthorize"),
    "AuthorizationCacheEnabled": ("AuthCacheCtrlr", "Enabled"),
    "LocalAuthListEnabled": ("LocalAuthListCtrlr", "Enabled"),
    "SecurityProfile": ("SecurityCtrlr", "SecurityProfile"),
}

_NAME = r"[A-Za-z0-9*\-_=:+|@.]+?"
_COMPONENT = re.compile(
    rf"^(?P<name>{_NAME})(?:\[(?P<instance>[^\]]+)\])?(?:@(?P<evse>\d+)(?::(?P<conn>\d+))?)?$")
_VARIABLE = re.compile(rf"^(?P<name>{_NAME})(?:\[(?P<instance>[^\]]+)\])?$")


def parse_key(key: str) -> tuple[Component, Variable]:
    """ComponentType and VariableType (snake_case, as the library takes them) of a key."""
    key = key.strip()
    if "/" not in key:
        if key not in ALIASES:
            raise InvalidInput(f"unknown OCPP 2.0.1 variable {key!r}: use Component/Variable")
        component_name, variable_name = ALIASES[key]
        return {"name": component_name}, {"name": variable_name}
    component_part, _, variable_part = key.partition("/")
    c, v = _COMPONENT.match(component_part), _VARIABLE.match(variable_part)
    if c is None or v is None:
        raise InvalidInput(f"not a Component/Variable key: {key!r}")
    component: Component = {"name": c["name"]}
    if c["instance"]:
        component["instance"] = c["instance"]
    if c["evse"]:
        component["evse"] = {"id": int(c["evse"])}
        if c["conn"]:
            component["evse"]["connector_id"] = int(c["conn"])
    variable: Variable = {"name": v["name"]}
    if v["instance"]:
        variable["instance"] = v["instance"]
    return component, variable


def key_name(component: Component, variable: Variable) -> str:
    """The admin API key of a component/variable (inverse of ``parse_key``)."""
    text = str(component.get("name", ""))
    if component.get("instance"):
        text += f"[{component['instance']}]"
    evse = component.get("evse") or {}
    if evse.get("id") is not None:
        text += f"@{evse['id']}"
        if evse.get("connector_id") is not None:
            text += f":{evse['connector_id']}"
    text += "/" + str(variable.get("name", ""))
    if variable.get("instance"):
        text += f"[{variable['instance']}]"
    return text


def configuration_from_results(results: list[dict[str, Any]]
                               ) -> tuple[list[dict[str, Any]], list[str]]:
    """GetVariableResult list -> 1.6-style (configurationKey, unknownKey)."""
    known, unknown = [], []
    for r in results:
        name = key_name(r.get("component") or {}, r.get("variable") or {})
        if r.get("attribute_status") == "Accepted":
            known.append({"key": name, "value": r.get("attribute_value")})
        else:
            unknown.append(name)
    return known, unknown


def configuration_from_report(report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NotifyReport reportData -> 1.6-style configurationKey entries (Actual values)."""
    keys = []
    for item in report:
        attributes = item.get("variable_attribute") or []
        actual = next((a for a in attributes if a.get("type", "Actual") == "Actual"), None)
        if actual is None:
            continue
        keys.append({"key": key_name(item.get("component") or {}, item.get("variable") or {}),
                     "readonly": actual.get("mutability") == "ReadOnly",
                     "value": actual.get("value")})
    return keys
