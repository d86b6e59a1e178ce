// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IEvidenceRegistry
 * @notice Vocabulary of the Proofmark evidence registry: anchors of 32-byte Merkle roots.
 * @dev A root covers one item (the root is the item's leaf) or a batch of items (the root of a
 * sorted-pair keccak-256 Merkle tree, compatible with OpenZeppelin's `MerkleProof`). Only the
 * first anchoring of a root is recorded; it proves that every covered item existed no later
 * than the block that anchored it.
 */
interface IEvidenceRegistry {
    /**
     * @notice The first anchoring of a root, packed into one storage slot.
     * @param submitter The account that sent the anchoring transaction.
     * @param anchoredAt The block timestamp of the anchoring (0 means "not anchored").
     * @param blockNumber The number of the block that anchored the root.
     */
    struct Anchor {
        address submitter;
        uint40 anchoredAt;
        uint56 blockNumber;
    }

    /**
     * @notice Emitted when a root is anchored for the first time.
     * @param root The anchored Merkle root.
     * @param submitter The account that anchored it.
     * @param leafCount How many items the root covers.
     * @dev The block number and time of the log are the anchoring's block number and time.
     */
    event EvidenceAnchored(bytes32 indexed root, address indexed submitter, uint256 leafCount);

    /// @notice Thrown when a root was already anchored; carries the time of the first anchoring.
    error EvidenceAlreadyAnchored(bytes32 root, uint40 anchoredAt);

    /// @notice Thrown when the zero root is submitted (it is the "empty" value of the registry).
    error EvidenceRootZero();

    /// @notice Thrown when a root is submitted with a leaf count of zero.
    error EvidenceLeafCountZero(bytes32 root);

    /**
     * @notice Anchors `root`, a Merkle root covering `leafCount` items.
     * @dev Reverts with {EvidenceRootZero}, {EvidenceLeafCountZero} or {EvidenceAlreadyAnchored}.
     * Emits {EvidenceAnchored}.
     * @param root The Merkle root (or the single item's leaf).
     * @param leafCount The number of leaves under `root`, recorded in the event for indexers.
     */
    function anchor(bytes32 root, uint256 leafCount) external;

    /**
     * @notice The first anchoring of `root`, or an all-zero anchor if it was never anchored.
     * @param root The Merkle root to look up.
     * @return The anchor: submitter, block timestamp and block number.
     */
    function anchorOf(bytes32 root) external view returns (Anchor memory);

    /**
     * @notice Checks that `leaf` is under the anchored `root` by the sorted-pair Merkle `proof`.
     * @param leaf The item's leaf (double keccak-256 commitment, see the receipt format).
     * @param proof The sibling hashes from the leaf up to the root.
     * @param root The anchored root.
     * @return anchoredAt The root's anchoring time, or 0 if the root is not anchored or the
     * proof does not lead from `leaf` to `root`.
     */
    function verify(bytes32 leaf, bytes32[] calldata proof, bytes32 root) external view returns (uint40 anchoredAt);

    /**
     * @notice The semantic version of this registry's behaviour.
     * @return The version string, e.g. "1.0.0".
     */
    function version() external pure returns (string memory);
}
