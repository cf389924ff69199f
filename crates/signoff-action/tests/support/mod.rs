//! Fixtures the signoff-action integration tests share.

use signoff_action::evidence::Evidence;

/// Two passages about one guest house: a time, a free-parking fact and a review line.
pub fn evidence() -> Vec<Evidence> {
    vec![
        Evidence::new(
            "c1",
            "faq",
            "v1",
            "Acorn Guest House",
            "Check-in is from 3:30pm. Parking is free on site.",
        ),
        Evidence::new(
            "c2",
            "reviews",
            "v1",
            "Acorn Guest House",
            "The room was quiet and clean.",
        ),
    ]
}
