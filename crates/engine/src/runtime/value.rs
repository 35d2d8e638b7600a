//! Values that flow along edges. They are type-erased (`Arc<dyn Any>`) so this runtime does not
//! depend on the production modules' types: a module downcasts to its own scene, manifest or
//! image type, and the port type tells everyone else what the value is.

use super::module::ModuleError;
use serde_json::{json, Value};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use workflow_contracts::PortType;

/// One value on one port. Cheap to clone (the payload is shared), so one output can feed many
/// inputs without copying a scene.
#[derive(Clone)]
pub struct PortValue {
    port_type: PortType,
    value: Arc<dyn Any + Send + Sync>,
    /// What the run record shows for this value (the payload itself is not serialisable).
    summary: Value,
    /// Content digest of the payload ([`crate::digest`]), recorded per port on the node run so
    /// a parity comparison can tell which node's output first differs.
    digest: Option<String>,
}

impl fmt::Debug for PortValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortValue")
            .field("port_type", &self.port_type)
            .field("summary", &self.summary)
            .field("digest", &self.digest)
            .finish()
    }
}

impl PortValue {
    /// Wraps any module-defined value; its summary is just the port type until
    /// [`PortValue::with_summary`] says more.
    pub fn new<T: Any + Send + Sync>(port_type: PortType, value: T) -> Self {
        PortValue {
            port_type,
            value: Arc::new(value),
            summary: json!({"type": port_type.as_str()}),
            digest: None,
        }
    }

    /// A JSON payload (order lines, reports); it doubles as its own summary, and its digest
    /// is the canonical JSON digest.
    pub fn json(port_type: PortType, value: Value) -> Self {
        let summary = value.clone();
        let digest = crate::digest::json_digest(port_type.as_str(), &value);
        PortValue {
            port_type,
            value: Arc::new(value),
            summary,
            digest: Some(digest),
        }
    }

    /// Sets the content digest of the payload (see [`crate::digest`]): equal payloads must
    /// give equal digests. Keep it cheap: it is computed on every run.
    pub fn with_digest(mut self, digest: impl Into<String>) -> Self {
        self.digest = Some(digest.into());
        self
    }

    /// The content digest, if the module that made the value set one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Sets what run records show for this value (sizes, counts, names: keep it small).
    pub fn with_summary(mut self, summary: Value) -> Self {
        self.summary = summary;
        self
    }

    pub fn port_type(&self) -> PortType {
        self.port_type
    }

    pub fn summary(&self) -> &Value {
        &self.summary
    }

    /// The payload as `T`, if it is one.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref::<T>()
    }

    /// The payload as JSON, if it was made with [`PortValue::json`].
    pub fn as_json(&self) -> Option<&Value> {
        self.downcast_ref::<Value>()
    }
}

/// The values arriving at a node, by input port. A `multiple` port may hold several.
#[derive(Debug, Clone, Default)]
pub struct NodeInputs {
    ports: BTreeMap<String, Vec<PortValue>>,
}

impl NodeInputs {
    pub fn new() -> Self {
        NodeInputs::default()
    }

    pub fn push(&mut self, port: &str, value: PortValue) {
        self.ports.entry(port.to_owned()).or_default().push(value);
    }

    /// The (first) value on `port`, if connected.
    pub fn get(&self, port: &str) -> Option<&PortValue> {
        self.ports.get(port).and_then(|v| v.first())
    }

    /// Every value on `port` (empty when unconnected).
    pub fn all(&self, port: &str) -> &[PortValue] {
        self.ports.get(port).map_or(&[], Vec::as_slice)
    }

    /// The value on `port`, or a `missing_input` error naming the port.
    pub fn require(&self, port: &str) -> Result<&PortValue, ModuleError> {
        self.get(port).ok_or_else(|| {
            ModuleError::new(
                super::codes::MISSING_INPUT,
                format!("input port '{port}' has no value"),
            )
        })
    }

    /// The value on `port` as `T`, or an `input_type_mismatch` error naming both types.
    pub fn require_as<T: Any>(&self, port: &str) -> Result<&T, ModuleError> {
        let value = self.require(port)?;
        value.downcast_ref::<T>().ok_or_else(|| {
            ModuleError::new(
                super::codes::INPUT_TYPE_MISMATCH,
                format!(
                    "input port '{port}' carries a {} value that is not a {}",
                    value.port_type(),
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    pub fn ports(&self) -> impl Iterator<Item = (&str, &[PortValue])> {
        self.ports.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// What a node produced, by output port.
#[derive(Debug, Clone, Default)]
pub struct NodeOutputs {
    ports: BTreeMap<String, PortValue>,
}

impl NodeOutputs {
    pub fn new() -> Self {
        NodeOutputs::default()
    }

    /// Builder form of [`NodeOutputs::insert`].
    pub fn with(mut self, port: &str, value: PortValue) -> Self {
        self.insert(port, value);
        self
    }

    pub fn insert(&mut self, port: &str, value: PortValue) {
        self.ports.insert(port.to_owned(), value);
    }

    pub fn get(&self, port: &str) -> Option<&PortValue> {
        self.ports.get(port)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &PortValue)> {
        self.ports.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Port → summary, for the run record.
    pub fn summaries(&self) -> BTreeMap<String, Value> {
        self.ports
            .iter()
            .map(|(k, v)| (k.clone(), v.summary().clone()))
            .collect()
    }

    /// Port → content digest (ports whose value has one), for the run record.
    pub fn digests(&self) -> BTreeMap<String, String> {
        self.ports
            .iter()
            .filter_map(|(k, v)| v.digest().map(|d| (k.clone(), d.to_owned())))
            .collect()
    }
}
