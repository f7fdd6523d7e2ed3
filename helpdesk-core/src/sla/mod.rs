//! SLA: business-hours calendars (spec and compiled engine).

pub mod calendar;
pub mod spec;

pub use calendar::Calendar;
pub use spec::CalendarSpec;
