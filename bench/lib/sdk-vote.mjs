// The baseline of `npm run bench -- approval` for `cutover approve`: the same vote sent by the smallest Node program
// on the stock Temporal TypeScript client, making the same round trips an approver's vote needs: the run asked what
// its gate shows now (a query), then the signed request sent (an Update). No cutover code: the request comes signed
// from the benchmark, the query's answer is not read. The benchmark bundles this file into one CommonJS file and loads
// it with a V8 code cache, as bin/cutover.js loads the decision commands, so both pay the same start-up: Node, the
// client's code, its protobuf definitions and gRPC. What `cutover approve` takes beyond it is its own work (the key
// read, the request signed, the run's state checked, the answer worded).
//
//   main([address, workflowId, queryName, updateName, inputJson]) prints the Update's answer as JSON.
import { Client, Connection } from '@temporalio/client';

export async function main([address, workflowId, queryName, updateName, input]) {
  const connection = await Connection.connect({ address });
  try {
    const handle = new Client({ connection }).workflow.getHandle(workflowId);
    await handle.query(queryName);
    const answer = await handle.executeUpdate(updateName, { args: [JSON.parse(input)] });
    console.log(JSON.stringify(answer));
    return 0;
  } finally {
    await connection.close();
  }
}
