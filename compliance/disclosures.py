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
