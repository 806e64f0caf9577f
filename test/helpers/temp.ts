// The tests' helpers build on src/testing/temp.ts, which src/'s own tests share (src/ never imports test/).
export * from '../../src/testing/temp.ts';
