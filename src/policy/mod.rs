//! Security: the restricted defaults every container gets unless its manifest relaxes them,
//! and the list of Linux capabilities berth knows. Admission rules (`kind: Policy`) come here.

pub mod capabilities;
pub mod restricted;
