//! dynamic-dns-updater keeps Route53 records pointed at EC2 instances' current public addresses.
//!
//! An invocation flows through these modules, in this order:
//! - [`config`]: environment -> typed, validated settings, once per process.
//! - [`app`]: what is built once per process from the config: clients, notifier, zone names.
//! - [`event`]: incoming JSON -> a [`event::Trigger`], or a rejection naming what arrived.
//! - [`scope`]: trigger + config -> what this invocation covers.
//! - [`ec2`]: the EC2 edge; DescribeInstances -> [`instance::Instances`].
//! - [`desired`]: config + instances -> the records that should exist, and refused names.
//! - [`route53`]: the provider: [`route53::read`] what exists, [`route53::batches`] within
//!   Route53's limits, [`route53::apply`] them, setting aside what Route53 refused
//!   ([`route53::refusal`]: the records and guardrails a refusal names).
//! - [`registry`]: ownership markers: who owns each name, who holds a name several instances
//!   claim (the incumbent rule), what else must be seen to know, orphans, marker changes.
//! - [`plan`]: the pure diff of desired against what Route53 holds, and the safety valve.
//! - [`retry`]: the second chance for names Route53 rejected because they moved.
//! - [`release`]: every record and marker this owner holds, deleted before it goes.
//! - [`report`]: the typed answer, its log lines and its metrics line.
//! - [`incidents`]: open problems across invocations and execution environments: new,
//!   reminder, recovered; errors that come and go held back.
//! - [`notify`]: webhook alerts: formats, signing, delivery.
//! - [`alerts`]: the alert step: incidents (merged with what other environments stored) -> one
//!   message -> the state kept.
//! - [`handler`]: one invocation as a straight line through the stages above.
//!
//! Beside them: [`names`] and [`instance`] hold the typed values, [`records`] the record sets
//! and changes every stage passes on, [`failure`] what can go wrong; [`clients`], [`budget`],
//! [`progress`] and [`ssm`] are what the edges share; [`cli`] runs the same handler outside Lambda.

pub mod alerts;
pub mod app;
pub mod budget;
pub mod cli;
pub mod clients;
pub mod config;
pub mod desired;
pub mod ec2;
pub mod event;
pub mod failure;
pub mod handler;
pub mod incidents;
pub mod instance;
pub mod names;
pub mod notify;
pub mod plan;
pub mod progress;
pub mod records;
pub mod registry;
pub mod release;
pub mod report;
pub mod retry;
pub mod route53;
pub mod scope;
pub mod ssm;
