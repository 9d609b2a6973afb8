//! Composition with wac-graph: each plug's export fills the socket's import
//! of the same name; everything else stays an import for the host.

use std::path::Path;

use anyhow::{Context, Result};
use wac_graph::{CompositionGraph, EncodeOptions, plug, types::Package};

/// The gateway with the four core functions plugged in.
pub fn compose(socket: &Path, plugs: &[impl AsRef<Path>]) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let socket = register(&mut graph, "mylder:gateway", read(socket)?)?;
    let plugs = plugs
        .iter()
        .enumerate()
        .map(|(index, path)| {
            register(
                &mut graph,
                &format!("mylder:plug{index}"),
                read(path.as_ref())?,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    plug(&mut graph, plugs, socket).context("plugging the core functions into the gateway")?;
    encode(&graph)
}

/// An already composed component with one more plug: the counters, which
/// every component inside it imports, so they are shared by all of them.
pub fn compose_bytes(socket: &[u8], counters: &Path) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let socket = register(&mut graph, "mylder:composed", socket.to_vec())?;
    let counters = register(&mut graph, "mylder:counters", read(counters)?)?;
    plug(&mut graph, vec![counters], socket).context("plugging the counters in")?;
    encode(&graph)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("loading {}", path.display()))
}

fn register(
    graph: &mut CompositionGraph,
    name: &str,
    bytes: Vec<u8>,
) -> Result<wac_graph::PackageId> {
    let package = Package::from_bytes(name, None, bytes, graph.types_mut())
        .with_context(|| format!("loading {name}"))?;
    Ok(graph.register_package(package)?)
}

fn encode(graph: &CompositionGraph) -> Result<Vec<u8>> {
    graph
        .encode(EncodeOptions::default())
        .context("encoding the composed component")
}
