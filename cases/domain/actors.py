"""Who acts on a case: a staff member with roles, the customer, or the system's timers."""

from __future__ import annotations

from dataclasses import dataclass

from cases.domain.enums import Role


@dataclass(frozen=True, slots=True)
class Actor:
    label: str  # what the history shows: username, "customer:<address>", "system"
    roles: frozenset[Role] = frozenset()
    user_id: int | None = None
    department_id: int | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles


SYSTEM = Actor(label="system", roles=frozenset({Role.SYSTEM}))


def customer(identity: str) -> Actor:
    return Actor(label=f"customer:{identity}", roles=frozenset({Role.SYSTEM}))
