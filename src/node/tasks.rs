//! The node's background tasks: every loop that outlives the requests (the write-behind writer,
//! the play-event publisher, the search index's catch-up, the recommendations' training
//! schedule, and in a cluster the liveness renewal, the dispatcher, the subscriptions and the
//! publisher). Each is spawned here, into the [`JoinSet`] of its
//! [`Stage`], with that stage's shutdown signal; a drain stops the stages one after the other, in
//! the order the node needs, each waiting for its tasks to end (and aborting any that outlive the
//! grace). A task that ends on its own before the drain is logged, as is one that panicked.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// When a task is stopped during a drain: the stages stop in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The renewal of this process's liveness key: stopped before the key is deleted, so a late
    /// renewal cannot bring the retired node back.
    Liveness,
    /// The cluster's Redis traffic: the dispatcher, the subscriptions, the publisher (which sends
    /// what is queued before it ends).
    Cluster,
    /// The write-behind writer: stopped once everything staged is written (or the grace is over).
    Writer,
    /// The play-event publisher: stopped after the writer, so that the plays of its last batch
    /// go out too.
    Events,
    /// The search index's catch-up with the catalog.
    Indexing,
    /// The training of recommendations on its schedule and the loading of newer models.
    Recommendations,
}

const STAGES: [Stage; 6] =
    [Stage::Liveness, Stage::Cluster, Stage::Writer, Stage::Events, Stage::Indexing, Stage::Recommendations];

struct StageTasks {
    stop: CancellationToken,
    tasks: JoinSet<&'static str>,
}

/// Every background task of the node.
pub struct BackgroundTasks {
    stages: Vec<StageTasks>,
}

impl Default for BackgroundTasks {
    fn default() -> BackgroundTasks {
        BackgroundTasks {
            stages: STAGES
                .iter()
                .map(|_| StageTasks { stop: CancellationToken::new(), tasks: JoinSet::new() })
                .collect(),
        }
    }
}

impl BackgroundTasks {
    /// Spawns `task` on this thread (it must run inside the node's actix system), handing it its
    /// stage's shutdown signal: it must end soon after the signal.
    pub fn spawn<F, Fut>(&mut self, stage: Stage, name: &'static str, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let entry = &mut self.stages[stage as usize];
        let future = task(entry.stop.clone());
        entry.tasks.spawn_local(async move {
            future.await;
            name
        });
    }

    /// Spawns a loop that knows no shutdown signal: it is dropped at the signal.
    pub fn spawn_until_stopped<Fut>(&mut self, stage: Stage, name: &'static str, task: Fut)
    where
        Fut: Future<Output = ()> + 'static,
    {
        self.spawn(stage, name, |stop| async move {
            tokio::select! {
                _ = task => {}
                _ = stop.cancelled() => {}
            }
        });
    }

    /// Signals one stage and waits up to `grace` for its tasks to end; aborts the rest.
    pub async fn stop(&mut self, stage: Stage, grace: Duration) {
        let entry = &mut self.stages[stage as usize];
        entry.stop.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            match tokio::time::timeout_at(deadline, entry.tasks.join_next()).await {
                Ok(None) => return,
                Ok(Some(Ok(_name))) => {}
                Ok(Some(Err(error))) => tracing::error!(?stage, %error, "a background task failed"),
                Err(_) => {
                    tracing::warn!(?stage, left = entry.tasks.len(), "background tasks outlived the grace; aborted");
                    entry.tasks.abort_all();
                    while entry.tasks.join_next().await.is_some() {}
                    return;
                }
            }
        }
    }

    /// Stops every stage not stopped yet, in order.
    pub async fn stop_all(&mut self, grace: Duration) {
        for stage in STAGES {
            self.stop(stage, grace).await;
        }
    }

    /// Background tasks still running.
    pub fn running(&self) -> usize {
        self.stages.iter().map(|stage| stage.tasks.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn stages_stop_in_order_and_a_stubborn_task_is_aborted() {
        let system = actix_rt::System::new();
        system.block_on(async {
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut tasks = BackgroundTasks::default();
            for (stage, name) in [(Stage::Writer, "writer"), (Stage::Liveness, "liveness"), (Stage::Cluster, "cluster")]
            {
                let order = order.clone();
                tasks.spawn(stage, name, move |stop| async move {
                    stop.cancelled().await;
                    order.borrow_mut().push(name);
                });
            }
            tasks.spawn_until_stopped(Stage::Indexing, "forever", std::future::pending());
            tasks.spawn(Stage::Indexing, "stubborn", |_stop| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
            assert_eq!(tasks.running(), 5);
            tasks.stop(Stage::Liveness, Duration::from_secs(1)).await;
            assert_eq!(*order.borrow(), ["liveness"], "only the stage asked stops");
            tasks.stop_all(Duration::from_millis(100)).await;
            assert_eq!(*order.borrow(), ["liveness", "cluster", "writer"]);
            assert_eq!(tasks.running(), 0, "the stubborn task was aborted");
        });
    }
}
