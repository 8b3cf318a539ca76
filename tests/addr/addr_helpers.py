"""Helpers shared by the address-space tests."""


def full_state(k):
    """Allocator state + address-space state + conserved page count."""
    return (k.state_digest(), k.address_space_digest(), k.nr_free_pages(include_pcp=True))
