"""Preview campaigns (PC-1..PC-4): what a campaign is, and its call guide.

A campaign (PC-1) has a name, the dial mode `preview`, the teams it is
assigned to, a contact list, the ANI its calls present and optionally a call
guide: a tree of questions whose answers pick the next question (PC-4).

Pure rules and records: no I/O. The models are used by the configuration
file (`[tenants.<id>.campaigns.<id>]`) and by the admin API alike.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from controlplane.domain.errors import InvalidInput, RuleViolation

RULE_CAMPAIGN = "PC-1"
RULE_PREVIEW = "PC-2"
RULE_CALL = "PC-3"
RULE_GUIDE = "PC-4"

MAX_CONTACTS = 10_000
MAX_DETAILS = 30
MAX_ANSWER = 256
MAX_QUESTIONS = 100

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Number = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,15}$")]
DetailName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_ -]{0,39}$")]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Model):
    """One question of a call guide. A `choice` question maps each answer to
    the next question's ID ("" ends the guide); a `text` question takes free
    text and goes on to `next` ("" ends the guide)."""

    text: str = Field(min_length=1, max_length=200)
    kind: Literal["choice", "text"] = "choice"
    answers: dict[Annotated[str, StringConstraints(min_length=1, max_length=80)], str] = Field(
        default_factory=dict, max_length=20
    )
    next: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind == "choice" and not self.answers:
            raise ValueError("a choice question lists its answers")
        if self.kind == "choice" and self.next:
            raise ValueError("a choice question's answers pick the next question, not `next`")
        if self.kind == "text" and self.answers:
            raise ValueError("a text question has no answers to choose from")
        return self

    def following(self) -> list[str]:
        """The questions this one can lead to."""
        targets = list(self.answers.values()) if self.kind == "choice" else [self.next]
        return [t for t in targets if t]


class CallGuide(_Model):
    """PC-4: a tree of questions, starting at `start`."""

    start: Id
    questions: dict[Id, Question] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _is_a_tree(self) -> Self:
        if self.start not in self.questions:
            raise ValueError(f"start: unknown question {self.start!r}")
        for qid, question in self.questions.items():
            for target in question.following():
                if target not in self.questions:
                    raise ValueError(f"questions.{qid}: unknown next question {target!r}")
        # Every path from the start ends: no question leads back to one before it.
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def walk(qid: str) -> None:
            state[qid] = 1
            for target in self.questions[qid].following():
                if state.get(target) == 1:
                    raise ValueError(f"questions.{qid}: leads back to {target!r} (a loop)")
                if target not in state:
                    walk(target)
            state[qid] = 2

        walk(self.start)
        return self


class Contact(_Model):
    """A contact of a campaign's list, with the details the agent previews."""

    id: Id
    name: str = Field(min_length=1, max_length=80)
    number: Number
    details: dict[DetailName, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=MAX_DETAILS
    )


class Campaign(_Model):
    """PC-1: a preview campaign."""

    name: str = Field(min_length=1, max_length=80)
    dial_mode: Literal["preview"] = "preview"
    teams: tuple[Id, ...] = Field(min_length=1)
    ani: Number
    contacts: tuple[Contact, ...] = Field(default=(), max_length=MAX_CONTACTS)
    call_guide: CallGuide | None = None

    @model_validator(mode="after")
    def _unique_contacts(self) -> Self:
        seen: set[str] = set()
        for contact in self.contacts:
            if contact.id in seen:
                raise ValueError(f"contacts: contact {contact.id!r} is listed twice")
            seen.add(contact.id)
        return self


def label(campaign: Campaign) -> str:
    """How a campaign call is labelled on the desktop."""
    return f"Campaign: {campaign.name}"


def require_team(campaign_id: str, campaign: Campaign, team: str) -> None:
    """PC-2: only agents of an assigned team work a campaign."""
    if team not in campaign.teams:
        raise RuleViolation(
            f"campaign {campaign_id!r} is not assigned to the agent's team {team!r}",
            rule=RULE_PREVIEW,
            campaign=campaign_id,
        )


# PC-4: the call guide ---------------------------------------------------------------


def check_answers(guide: CallGuide, answers: list[tuple[str, str]]) -> list[dict[str, str]]:
    """PC-4: the agent's answers, in order, must walk the guide from its start:
    each question is the one the previous answer picked, each choice is one of
    the question's answers, and the last answer ends the guide. Returns the
    walk as stored (question, its text, the answer)."""
    if not answers:
        raise InvalidInput("no answers given", rule=RULE_GUIDE, field="answers")
    expected: str = guide.start
    walk: list[dict[str, str]] = []
    for index, (qid, answer) in enumerate(answers):
        where = f"answers[{index}]"
        if not expected:
            raise InvalidInput(
                f"{where}: the guide ended with the previous answer",
                rule=RULE_GUIDE,
                field=where,
            )
        if qid != expected:
            raise InvalidInput(
                f"{where}: question {qid!r} is not the one asked here ({expected!r})",
                rule=RULE_GUIDE,
                field=where,
                expected=expected,
            )
        question = guide.questions[qid]
        if question.kind == "choice":
            if answer not in question.answers:
                raise InvalidInput(
                    f"{where}: {answer!r} is not an answer to question {qid!r}",
                    rule=RULE_GUIDE,
                    field=where,
                    allowed=sorted(question.answers),
                )
            expected = question.answers[answer]
            text = answer
        else:
            text = answer.strip()
            if not text or len(text) > MAX_ANSWER or _CONTROL.search(text):
                raise InvalidInput(
                    f"{where}: a text answer is 1 to {MAX_ANSWER} printable characters",
                    rule=RULE_GUIDE,
                    field=where,
                )
            expected = question.next
        walk.append({"question": qid, "text": question.text, "answer": text})
    if expected:
        raise InvalidInput(
            f"the guide is not complete: question {expected!r} is still to be answered",
            rule=RULE_GUIDE,
            field="answers",
            expected=expected,
        )
    return walk


def guide_view(guide: CallGuide) -> dict[str, object]:
    """PC-4: the guide as the desktop shows it."""
    return {
        "start": guide.start,
        "questions": {
            qid: {
                "text": q.text,
                "kind": q.kind,
                "answers": dict(q.answers) if q.kind == "choice" else None,
                "next": q.next if q.kind == "text" else None,
            }
            for qid, q in guide.questions.items()
        },
    }
