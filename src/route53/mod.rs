//! The Route53 provider: [`read`] what exists in the fewest calls, split changes into
//! [`batches`] within Route53's limits, and [`apply`] them, setting aside what Route53 refuses
//! ([`refusal`] reads what its refusal names). A thin edge: it decides nothing about which
//! records should exist.

pub mod apply;
pub mod batches;
pub mod read;
pub mod refusal;
