//! What `sepal model init` reads from the ONNX file: its one input, which
//! output holds the answer (a classifier's probabilities and label, or a
//! regressor's values), and the class labels its classifier names.

use tract_onnx::{pb, prelude::*};

use crate::inference::Graph;

/// What the model answers, by the names of its outputs.
pub enum Answers {
    /// Probabilities per class, and the label output when there is one.
    Classifier {
        probabilities: String,
        label: Option<String>,
        classes: usize,
    },
    /// One value per row.
    Regressor { values: String },
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

/// Which output holds the answer: a classifier's probabilities (and its
/// label: converters write the label first; a hand-made graph may have
/// probabilities only), or a regressor's values, `[N, 1]` or `[N]`.
pub fn answer_outputs(
    bytes: &[u8],
    input: &str,
    width: usize,
    proto: &pb::GraphProto,
) -> Result<Answers, String> {
    let names: Vec<&str> = proto.output.iter().map(|o| o.name.as_str()).collect();
    let (answer, label) = match names[..] {
        [answer] => (answer, None),
        [label, probabilities] => (probabilities, Some(label)),
        _ => {
            return Err(format!(
                "has {} outputs ({}); expected a label and probabilities, or one output",
                names.len(),
                names.join(", ")
            ));
        }
    };
    let mut wanted = vec![answer];
    wanted.extend(label);
    let graph = Graph::load(bytes, input, width, &wanted).map_err(|e| e.to_string())?;
    let facts = graph.output_facts().map_err(|e| e.to_string())?;
    let fact = &facts[0];
    let columns = match fact.rank() {
        1 => Some(1),
        2 => fact.shape[1].as_i64().and_then(|c| usize::try_from(c).ok()),
        _ => None,
    }
    .filter(|_| fact.datum_type == f32::datum_type());
    match (columns, label) {
        (Some(1), None) => Ok(Answers::Regressor {
            values: answer.to_owned(),
        }),
        (Some(classes), _) if classes >= 2 => Ok(Answers::Classifier {
            probabilities: answer.to_owned(),
            label: label.map(str::to_owned),
            classes,
        }),
        _ => Err(format!(
            "`{answer}` is {fact:?}; expected f32 probabilities [N, classes] or f32 values [N, 1]"
        )),
    }
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
