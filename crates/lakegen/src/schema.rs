//! Arrow schemas of the generated lake (`events` and `profiles` tables) and
//! the closed vocabularies (event names, channels, categories, ...) whose
//! values the generator writes into them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Event names, indexed by [`EventName`] discriminant.
pub(crate) const EVENT_NAMES: [&str; 14] = [
    "app_open",
    "page_view",
    "product_view",
    "video_view",
    "add_to_cart",
    "purchase",
    "content_view",
    "feature_use",
    "error",
    "retry",
    "support_ticket",
    "referral_sent",
    "campaign_eligible",
    "offer_redeemed",
];

/// Compact event-name code; `EVENT_NAMES[code as usize]` is its string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum EventName {
    AppOpen = 0,
    PageView = 1,
    ProductView = 2,
    VideoView = 3,
    AddToCart = 4,
    Purchase = 5,
    ContentView = 6,
    FeatureUse = 7,
    Error = 8,
    Retry = 9,
    SupportTicket = 10,
    ReferralSent = 11,
    /// Planted by a [`crate::campaign::Campaign`]: the user was targeted.
    CampaignEligible = 12,
    /// Planted by a campaign: the user converted (the goal `impact` measures).
    OfferRedeemed = 13,
}

impl EventName {
    pub(crate) fn as_str(self) -> &'static str {
        EVENT_NAMES[self as usize]
    }
}

/// Channels, indexed by channel code.
pub(crate) const CHANNELS: [&str; 3] = ["mobile", "desktop", "in_person"];
pub(crate) const MOBILE: u8 = 0;
pub(crate) const DESKTOP: u8 = 1;
pub(crate) const IN_PERSON: u8 = 2;

/// Product categories (on product_view, video_view, add_to_cart, purchase).
pub(crate) const CATEGORIES: [&str; 5] = ["camping", "electronics", "books", "apparel", "home"];
/// Content topics (on content_view).
pub(crate) const TOPICS: [&str; 6] = [
    "fitness",
    "cooking",
    "travel",
    "finance",
    "tech",
    "gardening",
];
/// Product features (on feature_use).
pub(crate) const FEATURES: [&str; 8] = [
    "reports",
    "dashboards",
    "alerts",
    "exports",
    "sharing",
    "api",
    "automations",
    "integrations",
];
/// Profile countries.
pub(crate) const COUNTRIES: [&str; 7] = ["US", "DE", "FR", "GB", "BR", "IN", "JP"];
/// Profile plans.
pub(crate) const PLANS: [&str; 3] = ["free", "pro", "team"];

/// Schema of `events/date=*/part-0.parquet` files (the hive partition column
/// `date` is not stored in the files and is not part of this schema).
pub fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("event_name", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, true),
        Field::new("topic", DataType::Utf8, true),
        Field::new("feature", DataType::Utf8, true),
        Field::new("revenue", DataType::Float64, true),
    ]))
}

/// The events table as a query sees it: the file columns plus the hive partition column
/// `date`.
pub fn events_table_schema() -> SchemaRef {
    let mut fields: Vec<Field> = events_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("date", DataType::Date32, false));
    Arc::new(Schema::new(fields))
}

/// Schema of `profiles/part-0.parquet` (one row per user). `country`, `plan`
/// and `signup_date` are declared nullable but are always set by the generator.
pub fn profiles_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, true),
        Field::new("plan", DataType::Utf8, true),
        Field::new("signup_date", DataType::Date32, true),
    ]))
}
