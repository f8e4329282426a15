import { ClusterOptions, startCluster, TestCluster } from './cluster';

/**
 * One cluster for a mocha describe block: started in before(), stopped in after() (also when a
 * test failed). Call it in the describe body; the returned function gives the running cluster
 * inside tests.
 */
export function useCluster(options: ClusterOptions = {}): () => TestCluster {
  let cluster: TestCluster | undefined;
  before(async () => {
    cluster = await startCluster(options);
  });
  after(async () => {
    await cluster?.stop();
  });
  return () => {
    if (cluster === undefined)
      throw new Error('useCluster: the cluster is not running (before() has not run or failed)');
    return cluster;
  };
}
