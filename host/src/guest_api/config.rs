//! `wasi:config/store@0.2.0-draft-2024-09-27`: the component's variables.

use super::bindings::wasi::config::store;
use crate::state::WwsState;

impl store::Host for WwsState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        self.calls.config_read();
        if let Some(costs) = &self.spin_costs {
            costs.variable_read(&key);
        }
        Ok(Ok(self.variables.get(&key).cloned()))
    }

    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        self.calls.config_read();
        if let Some(costs) = &self.spin_costs {
            costs.all_variables_read();
        }
        Ok(Ok(self
            .variables
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()))
    }
}
