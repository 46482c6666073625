/**
 * gRPC settings for every client connection cutover opens to Temporal.
 *
 * grpc-js refuses an answer larger than 4 MB unless told otherwise, and a page of a long run's history is larger (the
 * scale benchmark's 10,000-step run: 4.2 MB). The Temporal SDK means to raise the limit to 128 MB, but in
 * @temporalio/client 1.24.0 it names the setting without the `grpc.` prefix grpc-js reads, so the 4 MB stands. The
 * refusal comes back as RESOURCE_EXHAUSTED, the code Temporal also uses for "too busy": `cutover decisions` then
 * lost Temporal's copy of the run (its log, and who sent each request) and said Temporal was unreachable.
 */
export const CLIENT_CHANNEL_ARGS = { 'grpc.max_receive_message_length': 128 * 1024 * 1024 } as const;
