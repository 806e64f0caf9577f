// The tests' helpers build on src/testing/docker.ts, which src/'s own tests share (src/ never imports test/).
export * from '../../src/testing/docker.ts';
