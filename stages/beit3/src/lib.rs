//! BEiT-3 in Burn (being written).
