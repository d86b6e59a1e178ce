import { subtask, type HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";

// The compiler comes from the pinned npm package `solc`: these machines cannot download
// compilers, and a pinned soljson makes builds reproducible. Keep SOLC_VERSION equal to the
// version of `solc` in package.json.
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(async ({ solcVersion }: { solcVersion: string }) => {
  if (solcVersion !== SOLC_VERSION)
    throw new Error(`only solc ${SOLC_VERSION} is available offline, not ${solcVersion}`);
  const solc = require("solc");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: solcVersion,
    longVersion: solc.version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "shanghai" },
  },
  paths: { sources: "./contracts", tests: "./test", cache: "./cache", artifacts: "./artifacts" },
  mocha: { timeout: 120_000 },
  gasReporter: { enabled: process.env.REPORT_GAS === "1" },
};

export default config;
