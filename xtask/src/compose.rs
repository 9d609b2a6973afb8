//! Composition of the gateway with the four core functions into one
//! component, with wac-graph: each library's export fills the gateway's
//! import of the same name; everything else stays an import for the host.

use std::path::Path;

use anyhow::{Context, Result};
use wac_graph::{CompositionGraph, EncodeOptions, plug, types::Package};

pub fn compose(socket: &Path, plugs: &[impl AsRef<Path>]) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let socket = register(&mut graph, "mylder:gateway", socket)?;
    let plugs = plugs
        .iter()
        .enumerate()
        .map(|(index, path)| register(&mut graph, &format!("mylder:plug{index}"), path.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    plug(&mut graph, plugs, socket).context("plugging the core functions into the gateway")?;
    graph
        .encode(EncodeOptions::default())
        .context("encoding the composed component")
}

fn register(graph: &mut CompositionGraph, name: &str, path: &Path) -> Result<wac_graph::PackageId> {
    let package = Package::from_file(name, None, path, graph.types_mut())
        .with_context(|| format!("loading {}", path.display()))?;
    Ok(graph.register_package(package)?)
}
