//! Page cursors and page sizes: what a client can put in a URL.
#![allow(clippy::unwrap_used)]

use app::store::{Cursor, ListQuery, MAX_PAGE_SIZE};

const ID: &str = "01KAB2C3D4E5F6G7H8J9K0MNPQ";

#[test]
fn cursors_round_trip_through_their_text() {
    for cursor in [Cursor::Before(ID.into()), Cursor::After(ID.into())] {
        assert_eq!(cursor.to_string().parse::<Cursor>().unwrap(), cursor);
    }
}

#[test]
fn anything_else_is_not_a_cursor() {
    let too_long = format!("o{ID}0");
    for text in [
        "",
        "o",
        ID,
        &format!("x{ID}"),
        &format!("o{}", &ID[1..]),
        &too_long,
        &format!("o{}I", &ID[1..]),
        &format!("o{}", ID.to_lowercase()),
        "o' OR 1=1 --               ",
    ] {
        let err = text.parse::<Cursor>().unwrap_err();
        assert!(
            err.to_string().contains("is not a page cursor"),
            "{text}: {err}"
        );
    }
}

#[test]
fn page_sizes_stay_within_bounds() {
    assert_eq!(ListQuery::new(None, 0, None).limit(), 1);
    assert_eq!(ListQuery::new(None, 50, None).limit(), 50);
    assert_eq!(ListQuery::new(None, 1_000_000, None).limit(), MAX_PAGE_SIZE);
}
