//! Shared test support, one module per role. Each server binds a free loopback port and stops
//! when dropped. Every test binary includes all of it and uses part, hence the allowance below.
#![allow(dead_code, unused_imports)]

pub mod cargo_lambda;
pub mod function;
pub mod iam;
pub mod mocks;
pub mod moto;
pub mod net;
pub mod proxy;
pub mod record;
pub mod runtime;
pub mod sim;
pub mod terraform;
pub mod webhook;
pub mod world;

pub use function::Function;
pub use moto::{AMI, Aws, Moto, TAG_KEY};
pub use runtime::{Answered, RuntimeApi};
pub use webhook::{Received, Reply, WebhookSink};
pub use world::*;
