//! Lines up ensemble members on the same questions: every member must predict exactly the IDs of
//! the first member (in any order); the output follows the first member's order.

use pipeline_api::StageError;

use pipeline_formats::predictions::PredictionFolder;

/// For each member, the row of each of the first member's IDs.
pub fn align(members: &[PredictionFolder]) -> Result<Vec<Vec<usize>>, StageError> {
    let Some(first) = members.first() else {
        return Ok(Vec::new());
    };
    let reference = &first.predictions.ids;
    let mut orders = Vec::with_capacity(members.len());
    for (number, member) in members.iter().enumerate() {
        let index = member.predictions.index();
        let mut order = Vec::with_capacity(reference.len());
        for id in reference {
            let row = index.get(id.as_str()).ok_or_else(|| {
                mismatch(
                    member,
                    number,
                    &format!("has no prediction for ID `{id}`, which member 1 predicts"),
                )
            })?;
            order.push(*row);
        }
        if member.predictions.len() != reference.len() {
            let first_ids = first.predictions.index();
            let extra = member
                .predictions
                .ids
                .iter()
                .find(|id| !first_ids.contains_key(id.as_str()));
            let extra = extra.map(String::as_str).unwrap_or("?");
            return Err(mismatch(
                member,
                number,
                &format!("predicts ID `{extra}`, which member 1 does not"),
            ));
        }
        orders.push(order);
    }
    Ok(orders)
}

fn mismatch(member: &PredictionFolder, number: usize, what: &str) -> StageError {
    StageError::failed(format!(
        "ensemble member {} (`{}`, {} rows) {what}: every member must predict the same questions",
        number + 1,
        member.path.display(),
        member.predictions.len()
    ))
}
