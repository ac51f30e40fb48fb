//! dynamic-dns-updater keeps Route53 records pointed at EC2 instances' current public addresses.
//!
//! An invocation flows through these modules, in this order:
//! - [`config`]: environment -> typed, validated settings, once per process.
//! - [`event`]: incoming JSON -> a [`event::Trigger`], or a rejection naming what arrived.
//! - [`instances`]: the EC2 edge; one DescribeInstances -> addresses.
//! - [`desired`]: config + instances -> the records that should exist.
//! - [`current`]: the Route53 read edge; what exists, in the fewest calls.
//! - [`plan`]: the pure diff, and batching within Route53's limits.
//! - [`apply`]: the Route53 write edge; batches, with a per-name fallback.
//! - [`report`]: what happened, for the response, logs and metrics.
//! - [`notify`]: webhook alerts: formats, signing, delivery.
//!
//! [`handler`] runs those steps for one event; [`edge`] holds what the AWS edges share;
//! [`names`] holds the typed identifiers; [`cli`] runs the same handler outside Lambda.

pub mod apply;
pub mod cli;
pub mod config;
pub mod current;
pub mod desired;
pub mod edge;
pub mod event;
pub mod handler;
pub mod instances;
pub mod names;
pub mod notify;
pub mod plan;
pub mod report;
