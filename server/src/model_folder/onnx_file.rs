//! What `sepal model init` reads from the ONNX file: its one input, which
//! output holds the probabilities and which the label, and the class labels
//! its classifier names.

use tract_onnx::{pb, prelude::*};

use crate::inference::Graph;

/// The names of the classifier's outputs, and its class count.
pub struct Outputs {
    pub probabilities: String,
    pub label: Option<String>,
    pub classes: usize,
}

/// The graph's one input (initializers listed as inputs do not count).
pub fn single_input(graph: &pb::GraphProto) -> Result<String, String> {
    let initialized: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .filter(|name| !initialized.contains(name))
        .collect();
    match inputs[..] {
        [one] => Ok(one.to_owned()),
        _ => Err(format!(
            "has {} inputs ({}); Sepal serves models with one input of all features \
             (skl2onnx: pass one FloatTensorType of the full width)",
            inputs.len(),
            inputs.join(", ")
        )),
    }
}

/// Which output holds the probabilities and which the label: converters
/// write the label first; a hand-made graph may have probabilities only.
pub fn classifier_outputs(
    bytes: &[u8],
    input: &str,
    width: usize,
    proto: &pb::GraphProto,
) -> Result<Outputs, String> {
    let names: Vec<&str> = proto.output.iter().map(|o| o.name.as_str()).collect();
    let (probabilities, label) = match names[..] {
        [probabilities] => (probabilities, None),
        [label, probabilities] => (probabilities, Some(label)),
        _ => {
            return Err(format!(
                "has {} outputs ({}); expected a label and probabilities",
                names.len(),
                names.join(", ")
            ));
        }
    };
    let mut wanted = vec![probabilities];
    wanted.extend(label);
    let graph = Graph::load(bytes, input, width, &wanted).map_err(|e| e.to_string())?;
    let facts = graph.output_facts().map_err(|e| e.to_string())?;
    let columns = (facts[0].rank() == 2)
        .then(|| {
            facts[0].shape[1]
                .as_i64()
                .and_then(|c| usize::try_from(c).ok())
        })
        .flatten()
        .filter(|_| facts[0].datum_type == f32::datum_type());
    let classes = match columns {
        Some(c) if c >= 2 => c,
        Some(1) => {
            return Err(format!(
                "answers one value per row in `{probabilities}`: a regressor; Sepal serves classifiers \
                 (regression is planned)"
            ));
        }
        _ => {
            return Err(format!(
                "`{probabilities}` is {:?}, expected f32 probabilities [N, classes]",
                facts[0]
            ));
        }
    };
    Ok(Outputs {
        probabilities: probabilities.to_owned(),
        label: label.map(str::to_owned),
        classes,
    })
}

/// The class labels a classifier node (or ZipMap) of the graph lists.
pub fn class_labels(graph: &pb::GraphProto) -> Option<Vec<String>> {
    graph
        .node
        .iter()
        .flat_map(|n| &n.attribute)
        .find_map(|a| match a.name.as_str() {
            "classlabels_strings" => Some(
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            "classlabels_int64s" | "classlabels_ints" => {
                Some(a.ints.iter().map(i64::to_string).collect())
            }
            _ => None,
        })
}
