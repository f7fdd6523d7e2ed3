//! SLA: business-hours calendars (spec and compiled engine), policies, and ticket clocks.

pub mod calendar;
pub mod clock;
pub mod policy;
pub mod spec;

pub use calendar::Calendar;
pub use clock::{
    ClockContext, ClockOutcome, ClockView, SlaEvent, SlaMetric, SlaStatus, SlaView, TicketSla,
};
pub use policy::{SlaPolicy, SlaTargets};
pub use spec::CalendarSpec;
