//! Names made from a CSV's header and a model's labels: keys for forms and
//! JSON, and text for people.

/// A key per column: lowercase letters, digits and `_` (`sepal length
/// (cm)` → `sepal_length_cm`), made unique with a number where two agree.
pub fn keys(columns: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let slug = column
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        let base = if slug.is_empty() {
            format!("feature_{}", i + 1)
        } else {
            slug
        };
        let mut key = base.clone();
        let mut n = 2;
        while keys.contains(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        keys.push(key);
    }
    keys
}

/// A column's text for people, and its unit when the header gives one in
/// parentheses at its end: `BMI (kg/m²)` → (`BMI`, `kg/m²`).
pub fn label_and_unit(column: &str) -> (String, String) {
    if let Some(open) = column.rfind(" (")
        && let Some(unit) = column[open + 2..].strip_suffix(')')
        && !unit.is_empty()
        && !unit.contains(['(', ')'])
    {
        return (column[..open].trim().to_owned(), unit.trim().to_owned());
    }
    (column.to_owned(), String::new())
}

/// How a class is shown: `versicolor` → `Versicolor`, `1` → `Class 1`.
pub fn class_label(name: &str) -> String {
    if name.parse::<i64>().is_ok() {
        return format!("Class {name}");
    }
    title(name)
}

/// `breast_cancer` → `Breast cancer`.
pub fn title(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_slugs_and_unique() {
        let columns =
            ["sepal length (cm)", "Sepal Length (cm)", "", "petal_width"].map(String::from);
        assert_eq!(
            keys(&columns),
            [
                "sepal_length_cm",
                "sepal_length_cm_2",
                "feature_3",
                "petal_width"
            ]
        );
    }

    #[test]
    fn units_come_from_the_header() {
        let split = |c: &str| {
            let (label, unit) = label_and_unit(c);
            format!("{label}|{unit}")
        };
        assert_eq!(split("sepal length (cm)"), "sepal length|cm");
        assert_eq!(split("BMI (kg/m²)"), "BMI|kg/m²");
        assert_eq!(split("age"), "age|");
        assert_eq!(split("odd ()"), "odd ()|");
        assert_eq!(split("f(x)"), "f(x)|");
    }

    #[test]
    fn labels_read_as_text() {
        assert_eq!(class_label("versicolor"), "Versicolor");
        assert_eq!(class_label("1"), "Class 1");
        assert_eq!(title("breast_cancer"), "Breast cancer");
    }
}
