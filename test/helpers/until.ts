// The tests' helpers build on src/testing/until.ts, which src/'s own tests share (src/ never imports test/).
export * from '../../src/testing/until.ts';
