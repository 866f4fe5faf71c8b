//! Small CPU-bound steps that run between DataFusion plans (lining up merge branches,
//! selecting each segment's members, counting entered and exited members) spread over the
//! machine's cores with scoped threads.

/// `f` of every item, in order, computed on up to `available_parallelism` threads (item `i`
/// on thread `i % threads`). A panic in `f` is returned as `panicked` of its items.
pub(crate) fn map_on_cores<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
    panicked: impl Fn() -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                scope.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, item)| (i, f(item)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            if let Ok(done) = handle.join() {
                for (i, result) in done {
                    slots[i] = Some(result);
                }
            }
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(&panicked))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..101).collect();
        assert_eq!(
            map_on_cores(&items, |x| x * x, || u64::MAX),
            items.iter().map(|x| x * x).collect::<Vec<_>>()
        );
        assert!(map_on_cores(&[] as &[u64], |x| *x, || 0).is_empty());
    }
}
