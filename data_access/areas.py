"""The fixed geography of Kent and Medway: ICP areas, local authorities and former CCG names."""

from __future__ import annotations

# (name, short name), in the order they are shown.
ICP_AREAS: list[tuple[str, str]] = [
    ("Dartford, Gravesham and Swanley", "DGS"),
    ("East Kent", "East Kent"),
    ("Medway and Swale", "Medway and Swale"),
    ("West Kent", "West Kent"),
]
ICP_NAMES = [name for name, _ in ICP_AREAS]

# Local authority code -> (name, the ICP area most of it lies in).
# Sevenoaks (Swanley part in DGS) and Swale (Faversham part in East Kent) are split;
# the LSOA lookup decides for each small area, this default is used only without it.
LOCAL_AUTHORITIES: dict[str, tuple[str, str]] = {
    "E06000035": ("Medway", "Medway and Swale"),
    "E07000105": ("Ashford", "East Kent"),
    "E07000106": ("Canterbury", "East Kent"),
    "E07000107": ("Dartford", "Dartford, Gravesham and Swanley"),
    "E07000108": ("Dover", "East Kent"),
    "E07000109": ("Gravesham", "Dartford, Gravesham and Swanley"),
    "E07000110": ("Maidstone", "West Kent"),
    "E07000111": ("Sevenoaks", "West Kent"),
    "E07000112": ("Folkestone and Hythe", "East Kent"),
    "E07000113": ("Swale", "Medway and Swale"),
    "E07000114": ("Thanet", "East Kent"),
    "E07000115": ("Tonbridge and Malling", "West Kent"),
    "E07000116": ("Tunbridge Wells", "West Kent"),
}
SPLIT_AUTHORITIES = {"E07000111", "E07000113"}

# Former clinical commissioning groups (before April 2020) -> ICP area.
FORMER_CCGS: dict[str, str] = {
    "NHS Dartford, Gravesham and Swanley CCG": "Dartford, Gravesham and Swanley",
    "NHS West Kent CCG": "West Kent",
    "NHS Medway CCG": "Medway and Swale",
    "NHS Swale CCG": "Medway and Swale",
    "NHS Ashford CCG": "East Kent",
    "NHS Canterbury and Coastal CCG": "East Kent",
    "NHS South Kent Coast CCG": "East Kent",
    "NHS Thanet CCG": "East Kent",
}

ICP_CAVEAT = (
    "ICP areas are a best fit: there is no official small-area lookup, so each small area is "
    "assigned by the former clinical commissioning group it was in."
)
