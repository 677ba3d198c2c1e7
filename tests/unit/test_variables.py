"""Call-associated data rules (CAD-1..CAD-7), without I/O."""

from __future__ import annotations

import pytest

from controlplane.config import ConfigError, Flow, VariableDef, parse_config
from controlplane.domain import interaction as ix_rules
from controlplane.domain import values
from controlplane.domain import variables as rules
from controlplane.domain.errors import InvalidInput
from controlplane.domain.interaction import Direction, Interaction, Status
from controlplane.domain.values import VariableType
from controlplane.domain.variables import NotAllowed, Stored, Write

T = VariableType

FLOW = Flow(
    variables=(
        VariableDef(name="customer_name", label="Name", order=1, editable=True),
        VariableDef(name="account", label="Account", order=2, secure=True),
        VariableDef(name="case_number", label="Case", type=T.INTEGER, order=3, editable=True),
        VariableDef(name="balance", label="Balance", type=T.DECIMAL, order=4),
        VariableDef(name="vip", label="VIP", type=T.BOOLEAN, order=5, default="FALSE"),
        VariableDef(name="follow_up_at", label="At", type=T.DATETIME, order=6, editable=True),
        VariableDef(name="email", label="E-mail", order=7, editable=True, secure=True),
    )
)


def make_ix(status: Status = Status.CONNECTED, agent: str | None = "alice") -> Interaction:
    return Interaction(
        id="0" * 32,
        tenant="acme",
        direction=Direction.INBOUND,
        label="Acme Support",
        ani="+15551230000",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel="1.1",
        status=status,
        agent=agent,
    )


# CAD-3: typed values, normalised -----------------------------------------------------


@pytest.mark.spec("CAD-3")
@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        (T.STRING, "Jane  Doe ", "Jane  Doe "),
        (T.STRING, "", ""),
        (T.STRING, "line\nbreak\ttab", "line\nbreak\ttab"),
        (T.INTEGER, "007", "7"),
        (T.INTEGER, " -42 ", "-42"),
        (T.INTEGER, "+5", "5"),
        (T.INTEGER, 42, "42"),
        (T.INTEGER, str(2**63 - 1), str(2**63 - 1)),
        (T.INTEGER, "", None),
        (T.DECIMAL, "+012.50", "12.50"),
        (T.DECIMAL, "-0.00", "0.00"),
        (T.DECIMAL, 3, "3"),
        (T.DECIMAL, 12.5, "12.5"),
        (T.DECIMAL, 0.1, "0.1"),
        (T.BOOLEAN, "TRUE", "true"),
        (T.BOOLEAN, False, "false"),
        (T.DATETIME, "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00.000+00:00"),
        (T.DATETIME, "2024-05-01T10:00Z", "2024-05-01T10:00:00.000+00:00"),
        (T.DATETIME, "2024-05-01t10:00:00.1234z", "2024-05-01T10:00:00.123+00:00"),
        (T.DATETIME, "20240501T120000-0130", "2024-05-01T13:30:00.000+00:00"),
        (T.DATETIME, "2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00.000+00:00"),
        (T.DATETIME, None, None),
    ],
)
def test_values_are_validated_and_stored_normalised(kind: T, raw: values.Raw, stored: str) -> None:
    assert values.normalise(kind, raw) == stored


@pytest.mark.spec("CAD-3")
@pytest.mark.parametrize(
    ("kind", "raw", "problem"),
    [
        (T.STRING, "x" * 257, "longer than 256"),
        (T.STRING, "nul\x00", "control characters"),
        (T.STRING, 5, "not a number"),
        (T.STRING, True, "not a boolean"),
        (T.INTEGER, "4.2", "not an integer"),
        (T.INTEGER, "12abc", "not an integer"),
        (T.INTEGER, "1e3", "not an integer"),
        (T.INTEGER, 4.0, "no fraction"),
        (T.INTEGER, str(2**63), "64-bit"),
        (T.INTEGER, True, "not a boolean"),
        (T.INTEGER, "9" * 257, "longer than 256"),
        (T.DECIMAL, "1e3", "not a decimal"),
        (T.DECIMAL, "NaN", "not a decimal"),
        (T.DECIMAL, "1,5", "not a decimal"),
        (T.DECIMAL, float("inf"), "finite"),
        (T.BOOLEAN, "yes", "not a boolean"),
        (T.BOOLEAN, 1, "not a number"),
        (T.DATETIME, "2024-05-01T10:00:00", "needs a UTC offset"),
        (T.DATETIME, "2024-05-01", "not an ISO 8601"),
        (T.DATETIME, "2024-05-01 10:00:00Z", "not an ISO 8601"),
        (T.DATETIME, "01.05.2024 10:00", "not an ISO 8601"),
        (T.DATETIME, "2024-02-30T10:00:00Z", "not an ISO 8601"),
        (T.DATETIME, "2024-05-01T25:00:00Z", "not an ISO 8601"),
        (T.DATETIME, 1714557600, "not a number"),
    ],
)
def test_bad_values_are_refused_without_repeating_them(
    kind: T, raw: values.Raw, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        values.normalise(kind, raw)
    if isinstance(raw, str) and len(raw) > 3:
        assert raw not in str(refused.value)


@pytest.mark.spec("CAD-3")
def test_a_value_of_exactly_256_characters_is_accepted() -> None:
    assert values.normalise(T.STRING, "é" * 256) == "é" * 256


# CAD-1: defaults -------------------------------------------------------------------


@pytest.mark.spec("CAD-1")
def test_an_interaction_starts_with_the_flows_normalised_defaults() -> None:
    assert rules.initial_values(FLOW) == {"vip": "false"}
    assert rules.initial_values(FLOW, {"balance": "7.10", "vip": None}) == {"balance": "7.10"}


@pytest.mark.spec("CAD-1")
def test_a_default_that_does_not_fit_its_type_is_refused_by_the_configuration() -> None:
    with pytest.raises(ValueError, match="default: not a valid integer"):
        VariableDef(name="n", label="N", type=T.INTEGER, default="many")


@pytest.mark.spec("CAD-1")
def test_the_configuration_names_the_variable_whose_default_is_bad() -> None:
    node = {"name": "a", "ari_url": "http://x", "ari_user": "u", "ari_password": "p"}
    node |= {"ami_user": "u", "ami_secret": "s"}
    data: dict[str, object] = {
        "service": {"datacenter": "dc1"},
        "datacenters": {"dc1": {"name": "DC", "max_concurrent_calls": 1, "asterisk": [node]}},
    }
    tenant: dict[str, object] = {
        "name": "T",
        "datacenter": "dc1",
        "max_concurrent_calls": 1,
        "wrap_up_reasons": {"ok": "OK"},
        "idle_reasons": {"break": "Break"},
        "flows": {
            "f": {"variables": [{"name": "at", "label": "At", "type": "datetime", "default": "x"}]}
        },
    }
    with pytest.raises(ConfigError, match=r"tenants\.t\.flows\.f\.variables\[0\]\.default"):
        parse_config({**data, "tenants": {"t": tenant}}, "site.toml")


# CAD-2/CAD-3: what an agent may edit -----------------------------------------------


@pytest.mark.spec("CAD-3", "CAD-4")
def test_an_agents_save_is_checked_and_normalised_with_its_versions() -> None:
    writes = rules.plan_agent_edit(
        FLOW,
        {
            "case_number": ("0042", 3),
            "follow_up_at": ("2024-05-01T12:00:00+02:00", 0),
            "customer_name": (None, 1),
        },
    )
    assert writes == [
        Write("case_number", "42", 3),
        Write("follow_up_at", "2024-05-01T10:00:00.000+00:00", 0),
        Write("customer_name", None, 1),
    ]


@pytest.mark.spec("CAD-3")
def test_a_save_with_one_bad_value_is_refused_whole_naming_rule_and_variable() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.plan_agent_edit(
            FLOW,
            {"customer_name": ("Jane", 0), "case_number": ("forty-two", 0)},
        )
    details = refused.value.details
    assert details["rule"] == "CAD-3" and details["variable"] == "case_number"
    assert details["problems"] == [
        {
            "variable": "case_number",
            "rule": "CAD-3",
            "problem": "not an integer (digits with an optional sign)",
        }
    ]


@pytest.mark.spec("CAD-3")
def test_only_editable_variables_may_be_edited() -> None:
    with pytest.raises(NotAllowed) as refused:
        rules.plan_agent_edit(FLOW, {"case_number": ("1", 0), "balance": ("1.00", 0)})
    assert refused.value.status == 403
    assert refused.value.details["rule"] == "CAD-3"
    assert refused.value.details["variable"] == "balance"


@pytest.mark.spec("CAD-1")
def test_a_variable_the_flow_does_not_define_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.plan_agent_edit(FLOW, {"shoe_size": ("42", 0)})
    assert refused.value.details["rule"] == "CAD-1"
    assert refused.value.details["variable"] == "shoe_size"


@pytest.mark.spec("CAD-2")
def test_a_variable_beyond_the_thirty_shown_cannot_be_edited() -> None:
    many = Flow(
        variables=tuple(
            VariableDef(name=f"v{i}", label=f"V{i}", order=i, editable=True) for i in range(31)
        )
    )
    assert [v.name for v in rules.ordered(many)] == [f"v{i}" for i in range(30)]
    assert rules.plan_agent_edit(many, {"v29": ("x", 0)}) == [Write("v29", "x", 0)]
    with pytest.raises(InvalidInput) as refused:
        rules.plan_agent_edit(many, {"v30": ("x", 0)})
    assert refused.value.details["rule"] == "CAD-2"


@pytest.mark.spec("CAD-7")
def test_the_flow_may_set_any_of_its_variables_to_a_valid_value() -> None:
    writes = rules.plan_flow_set(FLOW, {"balance": "1234.50", "account": "DE-1"})
    assert writes == [Write("balance", "1234.50", None), Write("account", "DE-1", None)]
    with pytest.raises(InvalidInput) as refused:
        rules.plan_flow_set(FLOW, {"balance": "lots"})
    assert refused.value.details == {
        "rule": "CAD-3",
        "variable": "balance",
        "problems": [
            {
                "variable": "balance",
                "rule": "CAD-3",
                "problem": "not a decimal (digits, optionally '.' and more digits)",
            }
        ],
    }


# CAD-3/CAD-6: who edits and who sees -----------------------------------------------


@pytest.mark.spec("CAD-3")
@pytest.mark.parametrize(
    ("status", "agent", "editor", "allowed"),
    [
        (Status.CONNECTED, "alice", "alice", True),
        (Status.CONNECTED, "alice", "bob", False),
        (Status.RINGING, "alice", "alice", False),
        (Status.QUEUED, None, "alice", False),
        (Status.ENDED, "alice", "alice", False),
    ],
)
def test_only_the_agent_connected_to_the_interaction_may_edit(
    status: Status, agent: str | None, editor: str, allowed: bool
) -> None:
    ix = make_ix(status, agent)
    if allowed:
        rules.require_editor(ix, editor)
    else:
        with pytest.raises(NotAllowed) as refused:
            rules.require_editor(ix, editor)
        assert refused.value.details["rule"] == "CAD-3"


@pytest.mark.spec("CAD-3")
def test_every_status_but_before_answer_and_after_end_allows_editing() -> None:
    assert "connected" in rules.agent_edit_statuses()
    assert not {"queued", "ringing", "ended"} & set(rules.agent_edit_statuses())
    assert set(rules.flow_set_statuses()) == {s.value for s in Status} - {"ended"}


@pytest.mark.spec("CAD-6")
def test_only_parties_see_values_others_get_secure_ones_masked() -> None:
    rules.require_party(make_ix(Status.ENDED, "alice"), "alice")  # in wrap-up: still a party
    with pytest.raises(NotAllowed) as refused:
        rules.require_party(make_ix(), "bob")
    assert refused.value.details["rule"] == "CAD-6"
    state = {
        "account": Stored("DE-SECRET", 2, "flow", None, 1_700_000_000_000),
        "customer_name": Stored("Jane", 1, "agent", "alice", 1_700_000_000_000),
    }
    masked = {v["name"]: v for v in rules.view(FLOW, state, reveal_secure=False)}
    assert masked["account"]["value"] is None and masked["account"]["masked"] is True
    assert masked["account"]["version"] == 2
    assert masked["customer_name"]["value"] == "Jane"
    assert "DE-SECRET" not in repr(masked)
    shown = {v["name"]: v for v in rules.view(FLOW, state, reveal_secure=True)}
    assert shown["account"]["value"] == "DE-SECRET" and shown["account"]["masked"] is False


@pytest.mark.spec("CAD-2", "CAD-5")
def test_the_view_lists_the_shown_variables_in_order_with_saved_values_and_versions() -> None:
    state = {
        "case_number": Stored("42", 3, "agent", "alice", 1_700_000_000_000),
        "vip": Stored("false", 0),
    }
    shown = rules.view(FLOW, state, reveal_secure=True)
    assert [v["name"] for v in shown] == [
        "customer_name",
        "account",
        "case_number",
        "balance",
        "vip",
        "follow_up_at",
        "email",
    ]
    case = shown[2]
    assert case == {
        "name": "case_number",
        "label": "Case",
        "type": "integer",
        "editable": True,
        "secure": False,
        "value": "42",
        "masked": False,
        "version": 3,
        "source": "agent",
        "updated_by": "alice",
        "updated_at": "2023-11-14T22:13:20.000+00:00",
    }
    # never saved and no default: no value, version 0
    assert shown[0]["value"] is None and shown[0]["version"] == 0
    # never stored at all: the flow's default (normalised); cleared: no value
    assert rules.view(FLOW, {}, reveal_secure=True)[4]["value"] == "false"
    cleared = {"vip": Stored(None, 1, "agent", "alice", 1)}
    assert rules.view(FLOW, cleared, reveal_secure=True)[4]["value"] is None
    only = rules.view(FLOW, state, reveal_secure=True, only=frozenset({"vip"}))
    assert [v["name"] for v in only] == ["vip"]


@pytest.mark.spec("CAD-4")
def test_a_conflict_names_each_variable_with_its_current_value_and_version() -> None:
    current = {"case_number": Stored("43", 4), "email": Stored("a@b.example", 2)}
    err = rules.conflict(FLOW, current, reveal_secure=True)
    assert err.status == 409
    assert err.details["rule"] == "CAD-4"
    assert err.details["variable"] == "case_number"
    assert err.details["current_value"] == "43" and err.details["current_version"] == 4
    hidden = rules.conflict(FLOW, current, reveal_secure=False)
    conflicts = hidden.details["conflicts"]
    assert isinstance(conflicts, list)
    assert conflicts[1] == {
        "variable": "email",
        "current_value": None,
        "current_version": 2,
        "masked": True,
    }


@pytest.mark.spec("IN-1")
def test_the_offer_carries_the_variables_with_their_current_values() -> None:
    state = {"balance": Stored("99.90", 1, "flow")}
    offer = ix_rules.offer(make_ix(Status.RINGING), rules.view(FLOW, state, reveal_secure=True))
    variables = offer["variables"]
    assert isinstance(variables, list)
    balance = next(v for v in variables if v["name"] == "balance")
    assert balance["value"] == "99.90" and balance["version"] == 1
