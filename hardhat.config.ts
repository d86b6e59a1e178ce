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
    compilers: [
      { version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "shanghai" } },
    ],
    // OpenZeppelin 5.7's ERC2771Forwarder imports utils/Bytes.sol, whose assembly uses `mcopy`: it
    // only compiles for Cancun (Hardhat compiles every file of the graph as a root, hence the list).
    // The registries stay Shanghai; meta-transactions need a Cancun chain.
    overrides: Object.fromEntries(
      [
        "contracts/ProvenanceForwarder.sol",
        "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol",
        "@openzeppelin/contracts/utils/cryptography/EIP712.sol",
        "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol",
        "@openzeppelin/contracts/utils/Strings.sol",
        "@openzeppelin/contracts/utils/Bytes.sol",
      ].map((file) => [
        file,
        { version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" } },
      ]),
    ),
  },
  paths: { sources: "./contracts", tests: "./test", cache: "./cache", artifacts: "./artifacts" },
  mocha: { timeout: 120_000 },
  gasReporter: { enabled: process.env.REPORT_GAS === "1" },
};

export default config;
