"""The sentence an agent says (or writes) so the homeowner knows who is contacting them (D3, F8)."""

from leadcrm.accounts.models import Brokerage, Capacity, User
from leads.models import Lead


def role_disclosure_sentence(*, actor: User, brokerage: Brokerage, lead: Lead | None = None) -> str:
    name = actor.get_full_name() or actor.username
    about = f" about your home at {lead.property.street_line}" if lead is not None else ""
    if actor.capacity == Capacity.PRINCIPAL:
        licensee = (
            f"I am a licensed real estate agent with {brokerage.name}, but I am calling as an "
            "investor buying for myself, not as your agent"
            if actor.is_licensee
            else "I am a private investor buying for myself, not a real estate agent"
        )
        return f"Hi, this is {name}. {licensee}. I'm reaching out{about}."
    return (
        f"Hi, this is {name}, a licensed real estate agent with {brokerage.name}. "
        f"I help homeowners sell, including through short sales, and I'm reaching out{about}. "
        "Your lender decides on any short sale; I can't promise its outcome."
    )


def role_disclosure_written(*, actor: User, brokerage: Brokerage) -> str:
    """The agent's role in writing, for the seller's status page and guide (F8): who they
    work for, and that the lenders decide."""
    name = actor.get_full_name() or actor.username
    license_text = f" (license {actor.license_number}{', ' + actor.license_state if actor.license_state else ''})" \
        if actor.license_number else ""
    if actor.capacity == Capacity.PRINCIPAL:
        if actor.is_licensee:
            return (f"{name} is a licensed real estate agent with {brokerage.name}{license_text}, acting as an "
                    "investor buying for themselves, not as your agent.")
        return f"{name} is a private investor buying for themselves, not a real estate agent."
    # Not "your listing agent": the guide also goes to homeowners who have signed nothing.
    return (f"{name} is a licensed real estate agent with {brokerage.name}{license_text} who helps homeowners "
            f"sell, including through short sales. Your lenders decide on any short sale; {name} cannot promise "
            "its outcome.")
